import type { Clock } from "../runtime/index.js";
import type { Kysely } from "kysely";
import { InvalidStateError, NotFoundError } from "../errors.js";
import { specError } from "../spec-fields.js";
import { REVIEW_STATUSES, type ReviewStatus } from "../wire/index.js";
import { appendAudit } from "./audit.js";
import { writeLabels } from "./labels-sql.js";
import type { MetadataDb } from "./metadata-db.js";
import type { KeelDatabase, ReviewItemsTable } from "./schema.js";

/**
 * The human review queue: served decisions a review rule matched, keyed by endpoint and request
 * id (the id the inference log keeps, `<id>#<row>` for a row of a multi-row request). A reviewer
 * claims an item and decides it with a reason; the verdict is stored here, audited with the
 * reviewer's identity and written as the decision's delayed label in the same transaction.
 */
export interface ReviewItem {
  readonly endpoint: string;
  readonly requestId: string;
  readonly queuedAt: number;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly route: string;
  readonly entityId?: string;
  readonly score: number;
  /** The model's decision: its score against the endpoint's threshold. */
  readonly modelDecision: string;
  /** What the caller was answered while the review is pending. */
  readonly interimDecision: string;
  /** The endpoint's two decision labels; a verdict is one of them (the positive one is label 1). */
  readonly positiveDecision: string;
  readonly negativeDecision: string;
  /** The review rules the decision matched (`score_band`, `sample`, `rule: <expression>`). */
  readonly reasons: readonly string[];
  /** The request's inputs for this row, as received. */
  readonly inputs: Readonly<Record<string, string | number | boolean | null>>;
  readonly status: ReviewStatus;
  readonly claimedBy?: string;
  readonly claimedAt?: number;
  readonly verdict?: string;
  readonly verdictReason?: string;
  readonly decidedBy?: string;
  readonly decidedAt?: number;
  /** Decided items: whether the verdict differs from the model's decision. */
  readonly overridden?: boolean;
}

export type NewReviewItem = Omit<
  ReviewItem,
  | "status"
  | "claimedBy"
  | "claimedAt"
  | "verdict"
  | "verdictReason"
  | "decidedBy"
  | "decidedAt"
  | "overridden"
  | "queuedAt"
>;

export interface ReviewQuery {
  readonly status?: ReviewStatus;
  readonly endpoint?: string;
  /** Only items claimed (or decided) by this reviewer. */
  readonly reviewer?: string;
  /** Default 100, at most 1000. */
  readonly limit?: number;
}

export interface ReviewVerdict {
  /** One of the endpoint's two decision labels. */
  readonly decision: string;
  /** Why; required, at most 2000 characters. */
  readonly reason: string;
}

/** The queue's state per endpoint, for the `/metrics` gauges. */
export interface ReviewQueueStats {
  readonly endpoints: readonly {
    readonly endpoint: string;
    readonly pending: number;
    readonly claimed: number;
    /** When the oldest pending or claimed item was queued (epoch ms); null when none is open. */
    readonly oldestOpenAt: number | null;
    /** Verdicts given since `since`: agreeing with the model's decision, and overriding it. */
    readonly agreed: number;
    readonly overridden: number;
  }[];
}

export interface ReviewStore {
  /** Queues items at `time`; an item already queued under the same endpoint and request id is kept as it is. */
  enqueue(items: readonly NewReviewItem[], time: number): Promise<void>;
  /** Items oldest first. */
  list(query?: ReviewQuery): Promise<readonly ReviewItem[]>;
  get(endpoint: string, requestId: string): Promise<ReviewItem>;
  /** Takes a pending item for `reviewer` (claiming one's own claim again is a no-op); audited. */
  claim(endpoint: string, requestId: string, reviewer: string): Promise<ReviewItem>;
  /**
   * Records the verdict of `reviewer` on an item that is pending or claimed by them: the item,
   * an audit row (`review.decide`) and the label (verdict = positive decision → 1, else 0, source
   * `review`), in one transaction.
   */
  decide(endpoint: string, requestId: string, reviewer: string, verdict: ReviewVerdict): Promise<ReviewItem>;
  /** Open items per endpoint and status, the oldest open item, and the verdicts given since `since` (epoch ms). */
  stats(since: number): Promise<ReviewQueueStats>;
}

const MAX_LIMIT = 1000;
const MAX_REASON = 2000;

function num(v: number | string | bigint | null): number | undefined {
  return v === null ? undefined : Number(v);
}

function toItem(r: ReviewItemsTable): ReviewItem {
  const status = r.status as ReviewStatus;
  return {
    endpoint: r.endpoint,
    requestId: r.request_id,
    queuedAt: Number(r.queued_at),
    modelName: r.model_name,
    modelVersion: r.model_version,
    route: r.route,
    ...(r.entity_id !== null ? { entityId: r.entity_id } : {}),
    score: Number(r.score),
    modelDecision: r.model_decision,
    interimDecision: r.interim_decision,
    positiveDecision: r.positive_decision,
    negativeDecision: r.negative_decision,
    reasons: JSON.parse(r.reasons) as string[],
    inputs: JSON.parse(r.inputs) as Record<string, string | number | boolean | null>,
    status,
    ...(r.claimed_by !== null ? { claimedBy: r.claimed_by } : {}),
    ...(r.claimed_at !== null ? { claimedAt: num(r.claimed_at) as number } : {}),
    ...(r.verdict !== null ? { verdict: r.verdict, overridden: r.verdict !== r.model_decision } : {}),
    ...(r.verdict_reason !== null ? { verdictReason: r.verdict_reason } : {}),
    ...(r.decided_by !== null ? { decidedBy: r.decided_by } : {}),
    ...(r.decided_at !== null ? { decidedAt: num(r.decided_at) as number } : {}),
  };
}

function itemName(endpoint: string, requestId: string): string {
  return `${endpoint}/${requestId}`;
}

/**
 * Locks the item's row for the rest of the transaction, before reading it: a no-op write takes
 * PostgreSQL's row lock (two reviewers cannot both decide one item) and SQLite's write lock up
 * front (a read transaction upgraded to a write later fails at once when another connection, such
 * as the inference-log writer, wrote meanwhile).
 */
async function lockItem(tx: Kysely<KeelDatabase>, endpoint: string, requestId: string): Promise<ReviewItemsTable> {
  await tx
    .updateTable("review_items")
    .set((eb) => ({ status: eb.ref("status") }))
    .where("endpoint", "=", endpoint)
    .where("request_id", "=", requestId)
    .execute();
  return load(tx, endpoint, requestId);
}

async function load(tx: Kysely<KeelDatabase>, endpoint: string, requestId: string): Promise<ReviewItemsTable> {
  const row = await tx
    .selectFrom("review_items")
    .selectAll()
    .where("endpoint", "=", endpoint)
    .where("request_id", "=", requestId)
    .executeTakeFirst();
  if (row === undefined) {
    throw new NotFoundError(`review item ${itemName(endpoint, requestId)} does not exist`, {
      details: { field: "request_id", value: requestId, rule: `a decision queued for review on endpoint ${endpoint}` },
    });
  }
  return row;
}

/** The item must be open, and not held by another reviewer. */
function checkOpen(row: ReviewItemsTable, reviewer: string, action: string): void {
  const name = itemName(row.endpoint, row.request_id);
  if (row.status === "decided") {
    throw new InvalidStateError(
      `review item ${name} was already decided by ${row.decided_by ?? "?"}; cannot ${action}`,
      {
        details: { field: "status", value: row.status, rule: "must be pending or claimed" },
      },
    );
  }
  if (row.status === "claimed" && row.claimed_by !== reviewer) {
    throw new InvalidStateError(`review item ${name} is claimed by ${row.claimed_by ?? "?"}; cannot ${action}`, {
      details: { field: "claimed_by", value: row.claimed_by, rule: `must be unclaimed or claimed by ${reviewer}` },
    });
  }
}

function checkVerdict(row: ReviewItemsTable, verdict: ReviewVerdict): void {
  const allowed = [row.positive_decision, row.negative_decision];
  if (typeof verdict.decision !== "string" || !allowed.includes(verdict.decision)) {
    throw specError("decision", verdict.decision ?? null, `must be one of ${allowed.join(", ")}`);
  }
  const reason = typeof verdict.reason === "string" ? verdict.reason.trim() : "";
  if (reason === "" || reason.length > MAX_REASON) {
    throw specError("reason", verdict.reason ?? null, `must be a non-empty text of at most ${MAX_REASON} characters`);
  }
}

type EndpointStats = ReviewQueueStats["endpoints"][number];

/** Open items per endpoint and status, the oldest open item, and the verdicts given since `since`. */
async function queueStats(db: Kysely<KeelDatabase>, since: number): Promise<ReviewQueueStats> {
  const open = await db
    .selectFrom("review_items")
    .select((eb) => ["endpoint", "status", eb.fn.countAll<number>().as("n"), eb.fn.min("queued_at").as("oldest")])
    .where("status", "in", ["pending", "claimed"])
    .groupBy(["endpoint", "status"])
    .execute();
  const recent = (agreeing: boolean) => {
    let q = db
      .selectFrom("review_items")
      .select((eb) => ["endpoint", eb.fn.countAll<number>().as("n")])
      .where("decided_at", ">=", since);
    q = agreeing ? q.whereRef("verdict", "=", "model_decision") : q.whereRef("verdict", "<>", "model_decision");
    return q.groupBy("endpoint").execute();
  };
  const agreed = await recent(true);
  const overridden = await recent(false);
  const out = new Map<string, { -readonly [K in keyof EndpointStats]: EndpointStats[K] }>();
  const entry = (endpoint: string) => {
    let e = out.get(endpoint);
    if (e === undefined) {
      e = { endpoint, pending: 0, claimed: 0, oldestOpenAt: null, agreed: 0, overridden: 0 };
      out.set(endpoint, e);
    }
    return e;
  };
  for (const r of open) {
    const e = entry(r.endpoint);
    if (r.status === "pending") e.pending = Number(r.n);
    else e.claimed = Number(r.n);
    const oldest = Number(r.oldest);
    if (e.oldestOpenAt === null || oldest < e.oldestOpenAt) e.oldestOpenAt = oldest;
  }
  for (const r of agreed) entry(r.endpoint).agreed = Number(r.n);
  for (const r of overridden) entry(r.endpoint).overridden = Number(r.n);
  return { endpoints: [...out.values()].sort((a, b) => a.endpoint.localeCompare(b.endpoint)) };
}

const ROWS_PER_INSERT = 500;

/** The review queue on the metadata database (SQLite or PostgreSQL), migrated to 0060 or later. */
export function createReviewStore(metadata: MetadataDb, options: { clock?: Clock } = {}): ReviewStore {
  const clock = options.clock ?? Date.now;
  return {
    async enqueue(items, time) {
      if (items.length === 0) return;
      const rows: ReviewItemsTable[] = items.map((it) => ({
        endpoint: it.endpoint,
        request_id: it.requestId,
        queued_at: time,
        model_name: it.modelName,
        model_version: it.modelVersion,
        route: it.route,
        entity_id: it.entityId ?? null,
        score: it.score,
        model_decision: it.modelDecision,
        interim_decision: it.interimDecision,
        positive_decision: it.positiveDecision,
        negative_decision: it.negativeDecision,
        reasons: JSON.stringify(it.reasons),
        inputs: JSON.stringify(it.inputs),
        status: "pending",
        claimed_by: null,
        claimed_at: null,
        verdict: null,
        verdict_reason: null,
        decided_by: null,
        decided_at: null,
      }));
      // In slices: 21 columns a row, and SQLite binds at most 32,766 parameters a statement.
      await metadata.transaction(async (tx) => {
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          await tx
            .insertInto("review_items")
            .values(rows.slice(i, i + ROWS_PER_INSERT))
            .onConflict((oc) => oc.columns(["endpoint", "request_id"]).doNothing())
            .execute();
        }
      });
    },

    async list(query = {}) {
      if (query.status !== undefined && !REVIEW_STATUSES.includes(query.status)) {
        throw specError("status", query.status, `must be one of ${REVIEW_STATUSES.join(", ")}`);
      }
      const limit = query.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        throw specError("limit", limit, `must be an integer in [1, ${MAX_LIMIT}]`);
      }
      const rows = await metadata.query((db) => {
        let q = db.selectFrom("review_items").selectAll();
        if (query.status !== undefined) q = q.where("status", "=", query.status);
        if (query.endpoint !== undefined) q = q.where("endpoint", "=", query.endpoint);
        if (query.reviewer !== undefined) {
          const reviewer = query.reviewer;
          q = q.where((eb) => eb.or([eb("claimed_by", "=", reviewer), eb("decided_by", "=", reviewer)]));
        }
        return q.orderBy("queued_at").orderBy("endpoint").orderBy("request_id").limit(limit).execute();
      });
      return rows.map(toItem);
    },

    async get(endpoint, requestId) {
      return toItem(await metadata.query((db) => load(db, endpoint, requestId)));
    },

    claim(endpoint, requestId, reviewer) {
      return metadata.transaction(async (tx) => {
        const row = await lockItem(tx, endpoint, requestId);
        checkOpen(row, reviewer, "claim it");
        if (row.status === "claimed") return toItem(row);
        const now = clock();
        await tx
          .updateTable("review_items")
          .set({ status: "claimed", claimed_by: reviewer, claimed_at: now })
          .where("endpoint", "=", endpoint)
          .where("request_id", "=", requestId)
          .execute();
        await appendAudit(
          tx,
          {
            actor: reviewer,
            action: "review.claim",
            targetType: "review_item",
            targetId: itemName(endpoint, requestId),
            before: { status: row.status },
            after: { status: "claimed" },
          },
          now,
          metadata.chainKeyring?.current,
        );
        return toItem({ ...row, status: "claimed", claimed_by: reviewer, claimed_at: now });
      });
    },

    stats: (since) => metadata.query((db) => queueStats(db, since)),

    decide(endpoint, requestId, reviewer, verdict) {
      return metadata.transaction(async (tx) => {
        const row = await lockItem(tx, endpoint, requestId);
        checkOpen(row, reviewer, "decide it");
        checkVerdict(row, verdict);
        const now = clock();
        const reason = verdict.reason.trim();
        const decided: ReviewItemsTable = {
          ...row,
          status: "decided",
          claimed_by: row.claimed_by ?? reviewer,
          claimed_at: row.claimed_at ?? now,
          verdict: verdict.decision,
          verdict_reason: reason,
          decided_by: reviewer,
          decided_at: now,
        };
        await tx
          .updateTable("review_items")
          .set({
            status: decided.status,
            claimed_by: decided.claimed_by,
            claimed_at: decided.claimed_at,
            verdict: decided.verdict,
            verdict_reason: reason,
            decided_by: reviewer,
            decided_at: now,
          })
          .where("endpoint", "=", endpoint)
          .where("request_id", "=", requestId)
          .execute();
        await appendAudit(
          tx,
          {
            actor: reviewer,
            action: "review.decide",
            targetType: "review_item",
            targetId: itemName(endpoint, requestId),
            before: { status: row.status, model_decision: row.model_decision, interim_decision: row.interim_decision },
            after: { verdict: verdict.decision, reason, overridden: verdict.decision !== row.model_decision },
          },
          now,
          metadata.chainKeyring?.current,
        );
        const label = verdict.decision === row.positive_decision ? 1 : 0;
        await writeLabels(tx, [{ requestId, label, source: "review" }], reviewer, now, metadata.chainKeyring?.current);
        return toItem(decided);
      });
    },
  };
}
