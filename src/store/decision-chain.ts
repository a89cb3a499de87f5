import type { Kysely } from "kysely";
import { chainHash } from "./hash-chain.js";
import type { ChainKey } from "./hash-chain.js";
import type { InferenceRecord, OutputValues, ShadowScore } from "./inference-log.js";
import type { InferenceLogTable, KeelDatabase } from "./schema.js";

/** An inference-log row before it is linked into the decision chain. */
export type UnchainedRow = Omit<InferenceLogTable, "seq" | "prev_hash" | "hash" | "key_id">;

/** The tip of the decision chain: the last sequence number and its hash. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** A record's shadow answers under their stored keys, or null when it has none; key order matters, the log's search relies on it. */
export function storedShadows(
  shadows: readonly ShadowScore[] | undefined,
): { model: string; version: string; outputs: OutputValues; latency_ms: number }[] | null {
  if (shadows === undefined || shadows.length === 0) return null;
  return shadows.map((s) => ({
    model: s.modelName,
    version: s.modelVersion,
    outputs: s.outputs,
    latency_ms: s.latencyMs,
  }));
}

/** Stored form of a record's shadow answers: storedShadows as JSON text. */
export function shadowsJson(shadows: readonly ShadowScore[] | undefined): string | null {
  const stored = storedShadows(shadows);
  return stored === null ? null : JSON.stringify(stored);
}

/** The stored column values of a record (JSON columns as text), not yet linked into the chain. */
export function inferenceLogRow(r: InferenceRecord): InferenceLogTable {
  return {
    request_id: r.requestId,
    time: r.time,
    endpoint: r.endpoint,
    model_name: r.modelName,
    model_version: r.modelVersion,
    route: r.route,
    entity_id: r.entityId ?? null,
    features: JSON.stringify(r.features),
    outputs: JSON.stringify(r.outputs),
    latency_ms: r.latencyMs,
    shadows: shadowsJson(r.shadows),
    caller: r.caller ?? null,
    artifact_sha256: r.artifactSha256 ?? null,
    threshold: r.threshold ?? null,
    scored: r.scored === undefined ? null : JSON.stringify(r.scored),
    reasons: r.reasons === undefined ? null : JSON.stringify(r.reasons),
    seq: null,
    prev_hash: null,
    hash: null,
    key_id: null,
  };
}

/** A decision record's stored fields in hashing order: every column but the chain's own, as read back. */
export function decisionRowFields(row: UnchainedRow, seq: number): unknown[] {
  return [
    seq,
    Number(row.time),
    row.request_id,
    row.endpoint,
    row.model_name,
    row.model_version,
    row.route,
    row.entity_id,
    row.features,
    row.outputs,
    Number(row.latency_ms),
    row.shadows,
    row.caller,
    row.artifact_sha256,
    row.threshold === null ? null : Number(row.threshold),
    row.scored,
    row.reasons,
  ];
}

/** A decision record's link, sealed with `key` (HMAC-SHA256) when there is one. */
export function decisionRowHash(row: UnchainedRow, seq: number, prevHash: string, key?: ChainKey): string {
  return chainHash(prevHash, decisionRowFields(row, seq), key);
}

/**
 * Links `rows` after `head`, in order, setting their chain columns in place (relinking after
 * another head overwrites them), each sealed with `key` when there is one; returns the new head.
 */
export function chainRows(rows: readonly InferenceLogTable[], head: ChainHead, key?: ChainKey): ChainHead {
  let seq = head.seq;
  let prev = head.hash;
  for (const row of rows) {
    seq++;
    const hash = decisionRowHash(row, seq, prev, key);
    row.seq = seq;
    row.prev_hash = prev;
    row.hash = hash;
    row.key_id = key?.id ?? null;
    prev = hash;
  }
  return { seq, hash: prev };
}

export async function readChainHead(db: Kysely<KeelDatabase>): Promise<ChainHead> {
  const h = await db.selectFrom("decision_head").select(["seq", "hash"]).where("id", "=", 1).executeTakeFirstOrThrow();
  return { seq: Number(h.seq), hash: h.hash };
}

/** SQLite and PostgreSQL hold at most 32,766 / 65,535 bind parameters per statement. */
const ROWS_PER_INSERT = 200;

/**
 * Appends `rows` to the chain inside the caller's transaction. The head row is updated first: on
 * PostgreSQL that row lock serialises concurrent writers (serving replicas) until commit, so the
 * chain never forks; SQLite has one writer at a time.
 */
export async function appendChained(
  tx: Kysely<KeelDatabase>,
  rows: readonly InferenceLogTable[],
  key: ChainKey | undefined,
): Promise<void> {
  if (rows.length === 0) return;
  await tx
    .updateTable("decision_head")
    .set((eb) => ({ seq: eb("seq", "+", rows.length) }))
    .where("id", "=", 1)
    .execute();
  const after = await readChainHead(tx);
  const head = chainRows(rows, { seq: after.seq - rows.length, hash: after.hash }, key);
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await tx
      .insertInto("inference_log")
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .execute();
  }
  await tx.updateTable("decision_head").set({ hash: head.hash }).where("id", "=", 1).execute();
}
