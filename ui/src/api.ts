import { KeelClient } from "../../src/client/index.js";
import type { WhoAmIJson } from "../../src/client/index.js";

const TOKEN_KEY = "keel.token";

/** Roles ordered as the server orders them; `reviewer` sits beside the chain (docs/api.md#auth). */
const CHAIN = ["reader", "writer", "approver", "admin"] as const;
export type Role = (typeof CHAIN)[number] | "reviewer";

export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token === undefined || token === "") sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** The typed client of this server, with the session's token. */
export function client(): KeelClient {
  const token = storedToken();
  return new KeelClient({
    baseUrl: location.origin,
    ...(token === undefined ? {} : { token }),
    fetch: (input, init) => fetch(input, init),
  });
}

/** Whether `have` may do what `need` may, as the server decides it (the UI only hides; the server refuses). */
export function roleAllows(have: string, need: Role): boolean {
  if (have === "admin") return true;
  if (need === "reviewer") return have === "reviewer";
  if (have === "reviewer") return need === "reader";
  const h = CHAIN.indexOf(have as (typeof CHAIN)[number]);
  const n = CHAIN.indexOf(need);
  return h >= 0 && n >= 0 && h >= n;
}

export type Caller = WhoAmIJson;

/** `code: message` of a server error (a KeelError from the client), or the thrown text. */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as Error & { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}
