import type { Clock } from "../runtime/index.js";
import type { Kysely } from "kysely";
import { InvalidParameterError } from "../errors.js";
import { chainHash, GENESIS_HASH, walkChain } from "./hash-chain.js";
import type { ChainKey, TrustedHead } from "./hash-chain.js";
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
  /** Id of the audit key that sealed the row (HMAC); null for a row written without a keyring. */
  readonly keyId: string | null;
}

export type AuditVerification =
  | { readonly ok: true; readonly rows: number; readonly checkpoints: number }
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
  /**
   * Recomputes every row's hash and link, in order (sealed rows under their key from the
   * keyring), checks them against `checkpoints` (heads recorded outside the database), and
   * reports the first broken link.
   */
  verifyAuditChain(options?: { checkpoints?: readonly TrustedHead[] }): Promise<AuditVerification>;
  /** The chain's tip as the database records it. */
  head(): Promise<{ seq: number; hash: string }>;
}

/** The stored fields of a row in hashing order. */
function auditRowFields(row: Omit<AuditLogTable, "hash" | "prev_hash" | "key_id">): unknown[] {
  return [row.seq, row.time, row.actor, row.action, row.target_type, row.target_id, row.before, row.after];
}

/** The row's link: sha256 (no key) or HMAC-SHA256 under `key` over the previous hash and its stored fields. */
export function auditRowHash(row: Omit<AuditLogTable, "hash" | "key_id">, key?: ChainKey): string {
  return chainHash(row.prev_hash, auditRowFields(row), key);
}

/**
 * Appends `entry` inside the caller's transaction `tx`, so the audit row commits or rolls back
 * with the mutation it records; sealed with `key` (the keyring's current key) when there is one.
 * The head row is updated first: on PostgreSQL that row lock
 * serialises concurrent appenders until commit, so the chain never forks; SQLite has one writer.
 */
export async function appendAudit(
  tx: Kysely<KeelDatabase>,
  entry: AuditEntry,
  time: number,
  key: ChainKey | undefined,
): Promise<void> {
  await tx
    .updateTable("audit_head")
    .set((eb) => ({ seq: eb("seq", "+", 1) }))
    .where("id", "=", 1)
    .execute();
  const head = await tx.selectFrom("audit_head").select(["seq", "hash"]).where("id", "=", 1).executeTakeFirstOrThrow();
  const row: Omit<AuditLogTable, "hash" | "key_id"> = {
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
  const hash = auditRowHash(row, key);
  await tx
    .insertInto("audit_log")
    .values({ ...row, hash, key_id: key?.id ?? null })
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
  return metadata.transaction((tx) =>
    fn(tx, (e) => appendAudit(tx, { ...e, actor: actorId }, clock(), metadata.chainKeyring?.current)),
  );
}

export function createAuditLog(metadata: MetadataDb, deps: { clock?: Clock } = {}): AuditLog {
  const clock = deps.clock ?? Date.now;
  const db = metadata.db;
  return {
    async record(entry) {
      await metadata.transaction((tx) => appendAudit(tx, entry, clock(), metadata.chainKeyring?.current));
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

    async verifyAuditChain(options = {}) {
      const walk = await metadata.query((q) =>
        walkChain({
          noun: "row",
          keyring: metadata.chainKeyring,
          checkpoints: options.checkpoints,
          readPage: async (fromSeq, limit) => {
            const page = await q
              .selectFrom("audit_log")
              .selectAll()
              .where("seq", ">=", fromSeq)
              .orderBy("seq")
              .limit(limit)
              .execute();
            return page.map((r) => {
              const seq = Number(r.seq);
              return {
                seq,
                prevHash: r.prev_hash,
                hash: r.hash,
                keyId: r.key_id,
                fields: auditRowFields({ ...r, seq, time: Number(r.time) }),
                label: `row ${seq}`,
                ref: null,
              };
            });
          },
          readHead: () => readHead(q),
        }),
      );
      return walk.ok
        ? { ok: true, rows: walk.rows, checkpoints: walk.checkpoints }
        : { ok: false, rows: walk.rows, brokenAt: walk.brokenAt, reason: walk.reason };
    },

    head: () => metadata.query(async (q) => (await readHead(q)) ?? { seq: 0, hash: GENESIS_HASH }),
  };
}

async function readHead(db: Kysely<KeelDatabase>): Promise<{ seq: number; hash: string } | undefined> {
  const head = await db.selectFrom("audit_head").select(["seq", "hash"]).where("id", "=", 1).executeTakeFirst();
  return head === undefined ? undefined : { seq: Number(head.seq), hash: head.hash };
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
    keyId: r.key_id,
  };
}
