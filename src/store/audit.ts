import type { Clock } from "../runtime/index.js";
import type { Kysely } from "kysely";
import { InvalidParameterError } from "../errors.js";
import { chainHash, GENESIS_HASH } from "./hash-chain.js";
import type { MetadataDb } from "./metadata-db.js";
import type { AuditLogTable, KeelDatabase } from "./schema.js";

/** One mutation, as the store that made it describes it. */
export interface AuditEntry {
  /** Who did it: a user id or token name; "anonymous" when auth is off and no user was given. */
  readonly actor: string;
  /** e.g. "experiment.create", "run.log_batch", "model_version.set_alias". */
  readonly action: string;
  /** e.g. "experiment", "run", "registered_model", "model_version", "token". */
  readonly targetType: string;
  readonly targetId: string;
  /** Summary of the state before / after (small JSON-able objects, not whole payloads). */
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface AuditRecord {
  readonly seq: number;
  readonly time: number;
  readonly actor: string;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly prevHash: string;
  readonly hash: string;
}

export type AuditVerification =
  | { readonly ok: true; readonly rows: number }
  | {
      readonly ok: false;
      /** Rows checked before the break. */
      readonly rows: number;
      /** Sequence number of the first row that does not link (or where a row is missing). */
      readonly brokenAt: number;
      readonly reason: string;
    };

export interface AuditQuery {
  readonly targetType?: string;
  readonly targetId?: string;
  readonly actor?: string;
  readonly action?: string;
  /** Only rows with seq greater than this. */
  readonly afterSeq?: number;
  /** Only rows with seq less than this (paging backwards from the newest). */
  readonly beforeSeq?: number;
  /** Newest row first (default oldest first). */
  readonly newestFirst?: boolean;
  /** Default 100, at most 10,000. */
  readonly limit?: number;
}

export interface AuditLog {
  list(query?: AuditQuery): Promise<readonly AuditRecord[]>;
  /**
   * Appends a row for a decision that is not itself a store mutation (e.g. a retraining check),
   * in a transaction of its own.
   */
  record(entry: AuditEntry): Promise<void>;
  /** Recomputes every row's hash and link, in order; reports the first broken link. */
  verifyAuditChain(): Promise<AuditVerification>;
}

/** sha256 over the previous hash and the row's stored fields, exactly as stored. */
export function auditRowHash(row: Omit<AuditLogTable, "hash">): string {
  return chainHash(row.prev_hash, [
    row.seq,
    row.time,
    row.actor,
    row.action,
    row.target_type,
    row.target_id,
    row.before,
    row.after,
  ]);
}

/**
 * Appends `entry` inside the caller's transaction `tx`, so the audit row commits or rolls back
 * with the mutation it records. The head row is updated first: on PostgreSQL that row lock
 * serialises concurrent appenders until commit, so the chain never forks; SQLite has one writer.
 */
export async function appendAudit(tx: Kysely<KeelDatabase>, entry: AuditEntry, time: number): Promise<void> {
  await tx
    .updateTable("audit_head")
    .set((eb) => ({ seq: eb("seq", "+", 1) }))
    .where("id", "=", 1)
    .execute();
  const head = await tx.selectFrom("audit_head").select(["seq", "hash"]).where("id", "=", 1).executeTakeFirstOrThrow();
  const row: Omit<AuditLogTable, "hash"> = {
    seq: Number(head.seq),
    time,
    actor: entry.actor,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId,
    before: entry.before === undefined ? null : JSON.stringify(entry.before),
    after: entry.after === undefined ? null : JSON.stringify(entry.after),
    prev_hash: head.hash,
  };
  const hash = auditRowHash(row);
  await tx
    .insertInto("audit_log")
    .values({ ...row, hash })
    .execute();
  await tx.updateTable("audit_head").set({ hash }).where("id", "=", 1).execute();
}

/** Appends the audit row of the mutation in progress; the actor is the one its write was given. */
export type AppendAudit = (entry: Omit<AuditEntry, "actor">) => Promise<void>;

/**
 * Runs a store mutation in one transaction (driver errors translated) and hands it `audit`, which
 * appends the mutation's audit row for `actor` ("anonymous" without one) in that transaction.
 */
export function writeAudited<T>(
  metadata: MetadataDb,
  clock: Clock,
  actor: { readonly userId: string } | undefined,
  fn: (tx: Kysely<KeelDatabase>, audit: AppendAudit) => Promise<T>,
): Promise<T> {
  const actorId = actor?.userId ?? "anonymous";
  return metadata.transaction((tx) => fn(tx, (e) => appendAudit(tx, { ...e, actor: actorId }, clock())));
}

const PAGE = 2000;

export function createAuditLog(metadata: MetadataDb, deps: { clock?: Clock } = {}): AuditLog {
  const clock = deps.clock ?? Date.now;
  const db = metadata.db;
  return {
    async record(entry) {
      await metadata.transaction((tx) => appendAudit(tx, entry, clock()));
    },

    async list(query: AuditQuery = {}) {
      const limit = query.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new InvalidParameterError(`audit list: limit ${limit} must be an integer from 1 to 10000`, {
          details: { field: "limit", value: limit },
        });
      }
      let q = db.selectFrom("audit_log").selectAll();
      if (query.targetType !== undefined) q = q.where("target_type", "=", query.targetType);
      if (query.targetId !== undefined) q = q.where("target_id", "=", query.targetId);
      if (query.actor !== undefined) q = q.where("actor", "=", query.actor);
      if (query.action !== undefined) q = q.where("action", "=", query.action);
      if (query.afterSeq !== undefined) q = q.where("seq", ">", query.afterSeq);
      if (query.beforeSeq !== undefined) q = q.where("seq", "<", query.beforeSeq);
      const order = query.newestFirst === true ? "desc" : "asc";
      const rows = await metadata.query(() => q.orderBy("seq", order).limit(limit).execute());
      return rows.map(toRecord);
    },

    verifyAuditChain: () => metadata.query(verifyChain),
  };
}

async function verifyChain(db: Kysely<KeelDatabase>): Promise<AuditVerification> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let rows = 0;
  for (;;) {
    const page = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("seq", ">=", expectedSeq)
      .orderBy("seq")
      .limit(PAGE)
      .execute();
    for (const r of page) {
      const seq = Number(r.seq);
      if (seq !== expectedSeq) {
        return {
          ok: false,
          rows,
          brokenAt: expectedSeq,
          reason: `row ${expectedSeq} is missing (next row is ${seq})`,
        };
      }
      if (r.prev_hash !== prevHash) {
        return { ok: false, rows, brokenAt: seq, reason: `row ${seq} does not link to the hash of row ${seq - 1}` };
      }
      const { hash, ...rest } = r;
      if (auditRowHash({ ...rest, seq, time: Number(r.time) }) !== hash) {
        return {
          ok: false,
          rows,
          brokenAt: seq,
          reason: `row ${seq} was altered: its content does not match its hash`,
        };
      }
      prevHash = hash;
      expectedSeq = seq + 1;
      rows++;
    }
    if (page.length < PAGE) break;
  }
  const head = await db.selectFrom("audit_head").select(["seq", "hash"]).where("id", "=", 1).executeTakeFirst();
  if (head !== undefined && (Number(head.seq) !== rows || head.hash !== prevHash)) {
    return {
      ok: false,
      rows,
      brokenAt: rows + 1,
      reason: `the chain ends at row ${rows} but its head records row ${Number(head.seq)}: trailing rows were removed`,
    };
  }
  return { ok: true, rows };
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toRecord(r: AuditLogTable): AuditRecord {
  return {
    seq: Number(r.seq),
    time: Number(r.time),
    actor: r.actor,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    before: parseJson(r.before),
    after: parseJson(r.after),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
