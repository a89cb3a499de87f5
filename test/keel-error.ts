import { KeelError } from "../src/errors.js";

type ErrorClass<E> = abstract new (...args: never[]) => E;

/** The error `fn` throws, which must be a `type` (default KeelError); anything else fails the test. */
export function thrown<E extends Error = KeelError>(fn: () => unknown, type?: ErrorClass<E>): E {
  const want = (type ?? KeelError) as ErrorClass<E>;
  try {
    fn();
  } catch (e) {
    if (e instanceof want) return e;
    throw e;
  }
  throw new Error(`expected a ${want.name}`);
}

/** The error `p` rejects with, which must be a `type` (default KeelError); anything else fails the test. */
export async function rejected<E extends Error = KeelError>(p: Promise<unknown>, type?: ErrorClass<E>): Promise<E> {
  const want = (type ?? KeelError) as ErrorClass<E>;
  try {
    await p;
  } catch (e) {
    if (e instanceof want) return e;
    throw e;
  }
  throw new Error(`expected a ${want.name}`);
}
