import { createHash } from "node:crypto";

/** The `prev_hash` of a chain's first row. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * The link of one row in a hash chain (the audit log, decision records): sha256 over the previous
 * row's hash, a newline, and the JSON array of the row's stored fields in a fixed order. Fields are
 * hashed exactly as stored, so a verifier recomputes the hash from what it reads back.
 */
export function chainHash(prevHash: string, fields: readonly unknown[]): string {
  return createHash("sha256").update(prevHash).update("\n").update(JSON.stringify(fields)).digest("hex");
}
