import { InvalidParameterError } from "../errors.js";

/** Page tokens are base64 of `{"offset": n}`, opaque to callers (as MLflow's SQL store does). */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), "utf8").toString("base64");
}

export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === "") return 0;
  let offset: unknown;
  try {
    offset = (JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { offset?: unknown }).offset;
  } catch {
    offset = undefined;
  }
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    throw new InvalidParameterError(`page_token ${JSON.stringify(token)} is not a token this server issued`, {
      details: { field: "page_token", value: token },
    });
  }
  return offset;
}

/** Checks `max_results` against a limit; `undefined` gives the default. */
export function checkMaxResults(value: number | undefined, fallback: number, limit: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > limit) {
    throw new InvalidParameterError(`max_results ${String(value)} must be an integer from 1 to ${limit}`, {
      details: { field: "max_results", value, rule: `1..${limit}` },
    });
  }
  return n;
}
