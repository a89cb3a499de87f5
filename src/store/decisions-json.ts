import { specError } from "../spec-fields.js";
import type { DecisionJson, DecisionQueryJson } from "../wire/index.js";
import type { DecisionQuery, DecisionRecord } from "./decisions.js";

/** A decision record as the HTTP API, the client and the CLI's exports carry it. */
export function decisionJson(r: DecisionRecord): DecisionJson {
  return {
    seq: r.seq,
    request_id: r.requestId,
    time: r.time,
    caller: r.caller,
    endpoint: r.endpoint,
    model_name: r.modelName,
    model_version: r.modelVersion,
    artifact_sha256: r.artifactSha256,
    threshold: r.threshold,
    inputs: { ...r.inputs },
    scored_inputs: { ...r.scored },
    score: r.score,
    decision: r.decision,
    reasons: r.reasons === null ? null : r.reasons.map((c) => ({ ...c })),
    route: r.route,
    entity_id: r.entityId,
    latency_ms: r.latencyMs,
    fallback: r.fallback,
    prev_hash: r.prevHash,
    hash: r.hash,
    review:
      r.review === null
        ? null
        : {
            status: r.review.status,
            interim_decision: r.review.interimDecision,
            claimed_by: r.review.claimedBy,
            verdict: r.review.verdict,
            verdict_reason: r.review.verdictReason,
            decided_by: r.review.decidedBy,
            decided_at: r.review.decidedAt === null ? null : new Date(r.review.decidedAt).toISOString(),
            overridden: r.review.overridden,
          },
  };
}

/** A time bound: epoch milliseconds, or an ISO 8601 date or timestamp. */
export function parseTime(value: number | string, field: string): number {
  if (typeof value === "number" || /^\d+$/.test(value)) {
    const ms = Number(value);
    if (Number.isSafeInteger(ms)) return ms;
  } else {
    const ms = Date.parse(value);
    if (Number.isFinite(ms) && /^\d{4}-\d{2}-\d{2}/.test(value)) return ms;
  }
  throw specError(field, value, "must be epoch milliseconds or an ISO 8601 date or timestamp");
}

/** The store query of `GET /api/keel/decisions` (and the CLI's search and export). */
export function decisionQuery(q: DecisionQueryJson): DecisionQuery {
  let afterSeq: number | undefined;
  if (q.page_token !== undefined && q.page_token !== "") {
    afterSeq = Number(q.page_token);
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0)
      throw specError("page_token", q.page_token, "must be a token from a previous page");
  }
  const limit = q.max_results ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw specError("max_results", q.max_results, "must be an integer from 1 to 10000");
  return {
    endpoint: q.endpoint,
    modelName: q.model,
    modelVersion: q.model_version,
    decision: q.decision,
    reviewed: q.reviewed,
    from: q.from === undefined ? undefined : parseTime(q.from, "from"),
    to: q.to === undefined ? undefined : parseTime(q.to, "to"),
    afterSeq,
    limit,
  };
}
