/**
 * The step cache: a step's outputs stored in the artifact store under a key derived from the
 * step's name, the hashes of its inputs and its configuration. A run whose step has the same key
 * reuses the stored outputs instead of recomputing them.
 */
import { NotFoundError } from "../errors.js";
import type { ArtifactStore } from "../tracking/index.js";
import { canonicalHash } from "./definition.js";

/** Bumped when a step's stored outputs change shape, so old entries are not misread. */
export const CACHE_FORMAT = 1;

const ROOT = "pipeline-cache";
/** Written last: an entry without it is incomplete (a run died while storing it) and is ignored. */
const DONE = "done.json";

export function stepCacheKey(step: string, inputs: Readonly<Record<string, unknown>>): string {
  return canonicalHash({ format: CACHE_FORMAT, step, inputs });
}

export interface StepCache {
  /** The stored files of an entry, or undefined when there is no complete entry. */
  get(step: string, key: string, files: readonly string[]): Promise<Map<string, Uint8Array> | undefined>;
  put(step: string, key: string, files: ReadonlyMap<string, Uint8Array>): Promise<void>;
}

export function createStepCache(artifacts: ArtifactStore): StepCache {
  const dir = (step: string, key: string) => `${ROOT}/${step}/${key}`;
  return {
    async get(step, key, files) {
      try {
        await artifacts.statFile(`${dir(step, key)}/${DONE}`);
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }
      const out = new Map<string, Uint8Array>();
      for (const f of files) out.set(f, await artifacts.getFile(`${dir(step, key)}/${f}`));
      return out;
    },
    async put(step, key, files) {
      for (const [f, bytes] of files) await artifacts.putFile(`${dir(step, key)}/${f}`, bytes);
      await artifacts.putFile(`${dir(step, key)}/${DONE}`, new TextEncoder().encode(JSON.stringify({ step, key })));
    },
  };
}

export function int32Bytes(a: Int32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setInt32(i * 4, a[i] as number, true);
  return out;
}

export function bytesInt32(b: Uint8Array): Int32Array {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Int32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}

export function float64Bytes(a: Float64Array): Uint8Array {
  const out = new Uint8Array(a.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat64(i * 8, a[i] as number, true);
  return out;
}

export function bytesFloat64(b: Uint8Array): Float64Array {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float64Array(b.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

export function bytesJson(b: Uint8Array): unknown {
  return JSON.parse(new TextDecoder().decode(b));
}
