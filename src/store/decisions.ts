import { sql, type Kysely, type SelectQueryBuilder } from "kysely";
import { DataIntegrityError, InvalidParameterError, NotFoundError } from "../errors.js";
import type { Clock } from "../runtime/index.js";
import { appendAudit } from "./audit.js";
import { decisionRowFields, readChainHead } from "./decision-chain.js";
import type { ChainHead } from "./decision-chain.js";
import { walkChain } from "./hash-chain.js";
import type { ChainKey, ChainKeyring, TrustedHead } from "./hash-chain.js";
import type { FeatureValues, ReasonCode } from "./inference-log.js";
import type { MetadataDb } from "./metadata-db.js";
import type { InferenceLogTable, KeelDatabase, ReviewItemsTable } from "./schema.js";
import type { ReviewStatus } from "../wire/index.js";

/**
 * A served decision as recorded (docs/decisions.md): the inference-log row of one scored input row,
 * with its place in the hash chain. A multi-row request's records have ids `ID#0`, `ID#1`, ….
 */
export interface DecisionRecord {
  readonly seq: number;
  readonly requestId: string;
  readonly time: number;
  /** Token name of the caller ("anonymous" with auth off); null on records older than the chain. */
  readonly caller: string | null;
  readonly endpoint: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly artifactSha256: string | null;
  readonly threshold: number | null;
  /** The inputs as received. */
  readonly inputs: FeatureValues;
  /** The model's inputs as scored (the received ones when nothing was converted). */
  readonly scored: FeatureValues;
  readonly score: number | null;
  readonly decision: string | null;
  readonly reasons: readonly ReasonCode[] | null;
  /** champion, challenger, canary, fallback, direct (or canary_rollback for a rollback event). */
  readonly route: string;
  readonly entityId: string | null;
  readonly latencyMs: number;
  /** Why the fallback answered, when it did: model_error or deadline. */
  readonly fallback: string | null;
  readonly prevHash: string;
  readonly hash: string;
  /**
   * The decision's human review (docs/review.md), null when it was never queued. Kept in the
   * review queue, outside the hash chain, and joined at read time: a review changes no record.
   */
  readonly review: DecisionReview | null;
}

/** A decision's review as the queue holds it; verdict fields are null until it is decided. */
export interface DecisionReview {
  readonly status: ReviewStatus;
  /** What the caller was answered while the review was pending. */
  readonly interimDecision: string;
  readonly claimedBy: string | null;
  readonly verdict: string | null;
  readonly verdictReason: string | null;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  /** Whether the verdict differs from the model's decision; null until decided. */
  readonly overridden: boolean | null;
}

export interface DecisionQuery {
  readonly endpoint?: string | undefined;
  readonly modelName?: string | undefined;
  readonly modelVersion?: string | undefined;
  readonly decision?: string | undefined;
  readonly route?: string | undefined;
  /** Inclusive lower bound on `time` (epoch ms). */
  readonly from?: number | undefined;
  /** Exclusive upper bound on `time`. */
  readonly to?: number | undefined;
  /** true: only decisions a reviewer decided; false: only those never queued or still open. */
  readonly reviewed?: boolean | undefined;
  /** Only records after this sequence number (paging). */
  readonly afterSeq?: number | undefined;
  /** Default 100, at most 10,000. */
  readonly limit?: number | undefined;
}

/** Which labelled decisions to read: a model's, in a time range, with a label from one of `sources`. */
export interface LabelledDecisionQuery {
  readonly modelName: string;
  /** Inclusive lower bound on the decision's `time` (epoch ms). */
  readonly from?: number | undefined;
  /** Exclusive upper bound on `time`. */
  readonly to?: number | undefined;
  /** Label sources (e.g. `review`, a reviewer's verdict). */
  readonly sources: readonly string[];
}

/** A served decision with the label keyed by its request id. */
export interface LabelledDecision {
  readonly record: DecisionRecord;
  readonly label: number;
  readonly labelSource: string;
}

export type DecisionVerification =
  | { readonly ok: true; readonly records: number; readonly pruned: number; readonly checkpoints: number }
  | {
      readonly ok: false;
      /** Records verified before the break. */
      readonly records: number;
      /** Sequence number of the first record that was changed, deleted or does not link. */
      readonly brokenAt: number;
      /** Request id of that record, or of the next record when it was deleted. */
      readonly requestId: string | null;
      readonly reason: string;
    };

export interface LegalHold {
  readonly requestId: string;
  readonly reason: string;
  readonly actor: string;
  readonly time: number;
}

export interface RetentionResult {
  /** Records deleted (older than the cutoff and not under legal hold). */
  readonly deleted: number;
  /** Records older than the cutoff kept because of a legal hold. */
  readonly held: number;
}

/**
 * Reads of the decision records, their verification, legal holds and retention. Records are
 * written by serving through the inference log (one write per decision, see docs/decisions.md).
 */
export interface DecisionStore {
  /** The records of one request: `ID` itself, or `ID#0`, `ID#1`, … of a multi-row request. */
  get(requestId: string): Promise<readonly DecisionRecord[]>;
  /** Served decisions matching every filter, in chain order. */
  search(query: DecisionQuery): Promise<readonly DecisionRecord[]>;
  /** Every decision of the query's model and range whose label came from one of its sources, in chain order. */
  labelled(query: LabelledDecisionQuery): Promise<readonly LabelledDecision[]>;
  /** Recomputes every record's hash and link in chain order; names the first broken record. */
  verify(options?: { checkpoints?: readonly TrustedHead[] }): Promise<DecisionVerification>;
  /** The chain's tip as the database records it. */
  head(): Promise<ChainHead>;
  /** Puts every record of a request under legal hold (audited); NotFoundError without records. */
  hold(requestId: string, reason: string, actor: string): Promise<readonly LegalHold[]>;
  /** Lifts the holds on a request's records (audited); returns how many were lifted. */
  release(requestId: string, actor: string): Promise<number>;
  holds(): Promise<readonly LegalHold[]>;
  /** Deletes records older than `before` (epoch ms) that no legal hold keeps; audited. */
  applyRetention(before: number, actor: string): Promise<RetentionResult>;
}

const PAGE = 2000;
const NOT_DECISIONS = ["shadow", "canary_rollback"];

/** The decision store on the metadata database, migrated to 0050 or later. */
export function createDecisionStore(metadata: MetadataDb, options: { clock?: Clock } = {}): DecisionStore {
  const clock = options.clock ?? Date.now;
  const db = metadata.db;
  const chained = () => db.selectFrom("inference_log").selectAll().where("seq", "is not", null);
  const withReviews = (rows: readonly InferenceLogTable[]) => metadata.query((d) => joinReviews(d, rows));

  const get = async (requestId: string): Promise<DecisionRecord[]> => {
    const exact = await metadata.query(() => chained().where("request_id", "=", requestId).orderBy("seq").execute());
    if (exact.length > 0) return withReviews(exact);
    const prefix = `${requestId}#`;
    const rows = await metadata.query(() =>
      chained()
        .where(sql<boolean>`request_id like ${`${escapeLike(requestId)}#%`} escape '!'`)
        .orderBy("seq")
        .execute(),
    );
    // LIKE folds case on SQLite: keep exact prefixes only.
    return withReviews(rows.filter((r) => r.request_id.startsWith(prefix)));
  };

  return {
    get,

    async search(q) {
      const limit = q.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new InvalidParameterError(`limit = ${limit}: must be an integer from 1 to 10000`, {
          details: { field: "limit", value: limit, rule: "integer from 1 to 10000" },
        });
      }
      let s: SelectQueryBuilder<KeelDatabase, "inference_log", InferenceLogTable> = chained();
      if (q.endpoint !== undefined) s = s.where("endpoint", "=", q.endpoint);
      if (q.modelName !== undefined) s = s.where("model_name", "=", q.modelName);
      if (q.modelVersion !== undefined) s = s.where("model_version", "=", q.modelVersion);
      if (q.from !== undefined) s = s.where("time", ">=", q.from);
      if (q.to !== undefined) s = s.where("time", "<", q.to);
      if (q.afterSeq !== undefined) s = s.where("seq", ">", q.afterSeq);
      // Shadow answers (never returned) and canary rollback events are in the chain but are no decisions.
      s = q.route !== undefined ? s.where("route", "=", q.route) : s.where("route", "not in", NOT_DECISIONS);
      if (q.decision !== undefined) {
        // serving writes outputs as {"score":…,"decision":…}: an exact, case-sensitive substring test.
        const needle = `"decision":${JSON.stringify(q.decision)}`;
        s = s.where(
          metadata.dialect === "sqlite"
            ? sql<boolean>`instr(outputs, ${needle}) > 0`
            : sql<boolean>`strpos(outputs, ${needle}) > 0`,
        );
      }
      if (q.reviewed !== undefined) {
        const reviewed = q.reviewed;
        s = s.where((eb) => {
          const decided = eb.exists(
            eb
              .selectFrom("review_items")
              .select("review_items.request_id")
              .whereRef("review_items.endpoint", "=", "inference_log.endpoint")
              .whereRef("review_items.request_id", "=", "inference_log.request_id")
              .where("review_items.status", "=", "decided"),
          );
          return reviewed ? decided : eb.not(decided);
        });
      }
      const rows = await metadata.query(() => s.orderBy("seq").limit(limit).execute());
      return withReviews(rows);
    },

    async labelled(q) {
      const out: LabelledDecision[] = [];
      if (q.sources.length === 0) return out;
      for (let afterSeq = 0; ;) {
        let s = db
          .selectFrom("inference_log")
          .innerJoin("labels", "labels.request_id", "inference_log.request_id")
          .selectAll("inference_log")
          .select(["labels.label as label_value", "labels.source as label_source"])
          .where("inference_log.seq", ">", afterSeq)
          .where("inference_log.model_name", "=", q.modelName)
          .where("inference_log.route", "not in", NOT_DECISIONS)
          .where("labels.source", "in", [...q.sources]);
        if (q.from !== undefined) s = s.where("inference_log.time", ">=", q.from);
        if (q.to !== undefined) s = s.where("inference_log.time", "<", q.to);
        const page = await metadata.query(() => s.orderBy("inference_log.seq").limit(PAGE).execute());
        const records = await withReviews(page);
        page.forEach((r, i) =>
          out.push({ record: records[i] as DecisionRecord, label: Number(r.label_value), labelSource: r.label_source }),
        );
        if (page.length < PAGE) return out;
        afterSeq = Number(page[page.length - 1]?.seq);
      }
    },

    verify: (options = {}) => metadata.query((q) => verifyChain(q, metadata.chainKeyring, options.checkpoints)),

    head: () => metadata.query(readChainHead),

    async hold(requestId, reason, actor) {
      const records = await get(requestId);
      if (records.length === 0) throw new NotFoundError(`decision ${JSON.stringify(requestId)} is not recorded`);
      const time = clock();
      const holds = records.map((r) => ({ requestId: r.requestId, reason, actor, time }));
      await metadata.transaction(async (tx) => {
        for (const h of holds) {
          await tx.deleteFrom("decision_holds").where("request_id", "=", h.requestId).execute();
          await tx.insertInto("decision_holds").values({ request_id: h.requestId, reason, actor, time }).execute();
        }
        await appendAudit(
          tx,
          {
            actor,
            action: "decision.hold",
            targetType: "decision",
            targetId: requestId,
            after: { reason, records: holds.length },
          },
          time,
          metadata.chainKeyring?.current,
        );
      });
      return holds;
    },

    async release(requestId, actor) {
      const ids = (await get(requestId)).map((r) => r.requestId);
      if (ids.length === 0) ids.push(requestId);
      return metadata.transaction(async (tx) => {
        const res = await tx.deleteFrom("decision_holds").where("request_id", "in", ids).executeTakeFirst();
        const lifted = Number(res.numDeletedRows);
        if (lifted === 0) throw new NotFoundError(`decision ${JSON.stringify(requestId)} is not under legal hold`);
        await appendAudit(
          tx,
          {
            actor,
            action: "decision.release",
            targetType: "decision",
            targetId: requestId,
            after: { records: lifted },
          },
          clock(),
          metadata.chainKeyring?.current,
        );
        return lifted;
      });
    },

    async holds() {
      const rows = await metadata.query(() => db.selectFrom("decision_holds").selectAll().orderBy("time").execute());
      return rows.map((h) => ({ requestId: h.request_id, reason: h.reason, actor: h.actor, time: Number(h.time) }));
    },

    applyRetention: (before, actor) =>
      metadata.transaction((tx) => pruneBefore(tx, before, actor, clock(), metadata.chainKeyring?.current)),
  };
}

function escapeLike(s: string): string {
  return s.replace(/[!%_]/g, (c) => `!${c}`);
}

/**
 * Deletes the records older than `before` that no hold keeps. Each run of consecutive sequence
 * numbers deleted is kept in `decision_pruned` with the hash it ended on, so verification can
 * tell retention's gaps from deletions; the whole pass is one audit row.
 */
async function pruneBefore(
  tx: Kysely<KeelDatabase>,
  before: number,
  actor: string,
  now: number,
  key: ChainKey | undefined,
): Promise<RetentionResult> {
  // Serialise with writers: the head row lock (PostgreSQL) keeps a batch from committing mid-pass.
  await tx
    .updateTable("decision_head")
    .set((eb) => ({ seq: eb("seq", "+", 0) }))
    .where("id", "=", 1)
    .execute();
  const old = await tx
    .selectFrom("inference_log")
    .leftJoin("decision_holds", "decision_holds.request_id", "inference_log.request_id")
    .select(["inference_log.seq as seq", "inference_log.hash as hash", "decision_holds.request_id as held"])
    .where("inference_log.time", "<", before)
    .where("inference_log.seq", "is not", null)
    .orderBy("inference_log.seq")
    .execute();
  const runs: { from: number; to: number; lastHash: string }[] = [];
  let held = 0;
  for (const r of old) {
    if (r.held !== null) {
      held++;
      continue;
    }
    const seq = Number(r.seq);
    const last = runs[runs.length - 1];
    if (last !== undefined && last.to === seq - 1) {
      last.to = seq;
      last.lastHash = r.hash as string;
    } else runs.push({ from: seq, to: seq, lastHash: r.hash as string });
  }
  let deleted = 0;
  for (const run of runs) {
    const res = await tx
      .deleteFrom("inference_log")
      .where("seq", ">=", run.from)
      .where("seq", "<=", run.to)
      .executeTakeFirst();
    deleted += Number(res.numDeletedRows);
    await tx
      .insertInto("decision_pruned")
      .values({ from_seq: run.from, to_seq: run.to, last_hash: run.lastHash, time: now })
      .execute();
  }
  // Rows logged before decision records existed are outside the chain.
  const unchained = await tx
    .deleteFrom("inference_log")
    .where("seq", "is", null)
    .where("time", "<", before)
    .executeTakeFirst();
  deleted += Number(unchained.numDeletedRows);
  await appendAudit(
    tx,
    {
      actor,
      action: "decision.retention",
      targetType: "decision",
      targetId: "*",
      after: { before, deleted, held, runs: runs.map((r) => [r.from, r.to]) },
    },
    now,
    key,
  );
  return { deleted, held };
}

async function verifyChain(
  db: Kysely<KeelDatabase>,
  keyring: ChainKeyring | undefined,
  checkpoints: readonly TrustedHead[] | undefined,
): Promise<DecisionVerification> {
  const prunedRows = await db.selectFrom("decision_pruned").selectAll().execute();
  // A gap counts as retention's only when a retention pass's audit row (sealed with the audit log)
  // lists it: a row slipped into decision_pruned cannot hide deleted records.
  const audited = await auditedRetentionRuns(db);
  const unaudited = prunedRows.find((p) => !audited.has(`${Number(p.from_seq)}-${Number(p.to_seq)}`));
  if (unaudited !== undefined) {
    const from = Number(unaudited.from_seq);
    return {
      ok: false,
      records: 0,
      brokenAt: from,
      requestId: null,
      reason: `records ${from}–${Number(unaudited.to_seq)} are marked as removed by retention, but no retention in the audit log removed them`,
    };
  }
  const walk = await walkChain({
    noun: "record",
    keyring,
    checkpoints,
    gaps: new Map(prunedRows.map((p) => [Number(p.from_seq), { to: Number(p.to_seq), lastHash: p.last_hash }])),
    readPage: async (fromSeq, limit) => {
      const page = await db
        .selectFrom("inference_log")
        .selectAll()
        .where("seq", ">=", fromSeq)
        .orderBy("seq")
        .limit(limit)
        .execute();
      return page.map((r) => {
        const { seq: s, prev_hash, hash, key_id, ...row } = r;
        const seq = Number(s);
        return {
          seq,
          prevHash: prev_hash as string,
          hash: hash as string,
          keyId: key_id,
          fields: decisionRowFields(row, seq),
          label: `record ${seq} (request ${r.request_id})`,
          ref: r.request_id,
        };
      });
    },
    readHead: () => readChainHead(db),
  });
  if (walk.ok) return { ok: true, records: walk.rows, pruned: walk.skipped, checkpoints: walk.checkpoints };
  return { ok: false, records: walk.rows, brokenAt: walk.brokenAt, requestId: walk.ref, reason: walk.reason };
}

/** The runs `from-to` every retention pass recorded in its audit row. */
async function auditedRetentionRuns(db: Kysely<KeelDatabase>): Promise<Set<string>> {
  const rows = await db.selectFrom("audit_log").select("after").where("action", "=", "decision.retention").execute();
  const runs = new Set<string>();
  for (const r of rows) {
    try {
      const after = JSON.parse(r.after ?? "{}") as { runs?: unknown };
      if (!Array.isArray(after.runs)) continue;
      for (const run of after.runs as unknown[]) {
        if (Array.isArray(run)) runs.add(`${Number(run[0])}-${Number(run[1])}`);
      }
    } catch {
      // An unreadable row confirms nothing; the audit chain's own verification reports it.
    }
  }
  return runs;
}

const REVIEW_BATCH = 500;

/** The rows as decisions, each with its review item (same endpoint and request id) when queued. */
async function joinReviews(db: Kysely<KeelDatabase>, rows: readonly InferenceLogTable[]): Promise<DecisionRecord[]> {
  const key = (endpoint: string, requestId: string) => `${endpoint}\u0000${requestId}`;
  const reviews = new Map<string, DecisionReview>();
  const ids = [...new Set(rows.map((r) => r.request_id))];
  for (let i = 0; i < ids.length; i += REVIEW_BATCH) {
    const items = await db
      .selectFrom("review_items")
      .selectAll()
      .where("request_id", "in", ids.slice(i, i + REVIEW_BATCH))
      .execute();
    for (const it of items) reviews.set(key(it.endpoint, it.request_id), toReview(it));
  }
  return rows.map((r) => toDecision(r, reviews.get(key(r.endpoint, r.request_id)) ?? null));
}

function toReview(it: ReviewItemsTable): DecisionReview {
  return {
    status: it.status as ReviewStatus,
    interimDecision: it.interim_decision,
    claimedBy: it.claimed_by,
    verdict: it.verdict,
    verdictReason: it.verdict_reason,
    decidedBy: it.decided_by,
    decidedAt: it.decided_at === null ? null : Number(it.decided_at),
    overridden: it.verdict === null ? null : it.verdict !== it.model_decision,
  };
}

function parseJson<T>(text: string, row: InferenceLogTable): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new DataIntegrityError(`decision ${row.request_id}: unreadable JSON`, { cause });
  }
}

function toDecision(row: InferenceLogTable, review: DecisionReview | null): DecisionRecord {
  const inputs = parseJson<FeatureValues>(row.features, row);
  const outputs = parseJson<Record<string, unknown>>(row.outputs, row);
  return {
    seq: Number(row.seq),
    requestId: row.request_id,
    time: Number(row.time),
    caller: row.caller,
    endpoint: row.endpoint,
    modelName: row.model_name,
    modelVersion: row.model_version,
    artifactSha256: row.artifact_sha256,
    threshold: row.threshold === null ? null : Number(row.threshold),
    inputs,
    scored: row.scored === null ? inputs : parseJson<FeatureValues>(row.scored, row),
    score: typeof outputs.score === "number" ? outputs.score : null,
    decision: typeof outputs.decision === "string" ? outputs.decision : null,
    reasons: row.reasons === null ? null : parseJson<ReasonCode[]>(row.reasons, row),
    route: row.route,
    entityId: row.entity_id,
    latencyMs: Number(row.latency_ms),
    fallback: typeof outputs.fallback === "string" ? outputs.fallback : null,
    prevHash: row.prev_hash ?? "",
    hash: row.hash ?? "",
    review,
  };
}
