import type { FastifyRequest } from "fastify";
import { InvalidParameterError, UnavailableError } from "../../errors.js";
import { specError } from "../../spec-fields.js";
import type { ReviewItem, ReviewStore } from "../../store/index.js";
import { REVIEW_STATUSES, type ReviewItemJson, type ReviewStatus } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";

type ItemParams = { endpoint: string; requestId: string };

const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());

export function reviewItemJson(it: ReviewItem): ReviewItemJson {
  return {
    endpoint: it.endpoint,
    request_id: it.requestId,
    queued_at: new Date(it.queuedAt).toISOString(),
    model_name: it.modelName,
    model_version: it.modelVersion,
    route: it.route,
    entity_id: it.entityId ?? null,
    score: it.score,
    model_decision: it.modelDecision,
    interim_decision: it.interimDecision,
    decisions: [it.positiveDecision, it.negativeDecision],
    reasons: [...it.reasons],
    inputs: { ...it.inputs },
    status: it.status,
    claimed_by: it.claimedBy ?? null,
    claimed_at: iso(it.claimedAt),
    verdict: it.verdict ?? null,
    verdict_reason: it.verdictReason ?? null,
    decided_by: it.decidedBy ?? null,
    decided_at: iso(it.decidedAt),
    overridden: it.overridden ?? null,
  };
}

/**
 * The reviewer: the caller's token name when auth is on (a body `reviewer` naming someone else is
 * refused, so nobody decides in another's name); with auth off the body's `reviewer`, else
 * `anonymous`.
 */
function reviewerOf(req: FastifyRequest, input: Input): string {
  const named = input.string("reviewer");
  if (req.authEnabled) {
    const name = req.principal?.name ?? "anonymous";
    if (named !== undefined && named !== name) {
      throw new InvalidParameterError(
        `reviewer ${JSON.stringify(named)}: must be the caller's own token name (${name}) or absent`,
        { details: { field: "reviewer", value: named, rule: "the caller's token name" } },
      );
    }
    return name;
  }
  return named === undefined || named === "" ? "anonymous" : named;
}

/**
 * The human review queue (docs/review.md): list, read, claim and decide queued decisions. Every
 * route needs the `reviewer` role (or `admin`): the items hold applicants' inputs, and a verdict
 * becomes a label.
 */
export const reviewRoutes: RoutePlugin = (app, { stores }) => {
  const store = (): ReviewStore => {
    if (stores.reviews === undefined) throw new UnavailableError("review: this server has no review queue configured");
    return stores.reviews;
  };
  const config = { role: "reviewer" as const };

  app.get("/api/keel/review", { config }, async (req) => {
    const input = Input.of(req);
    const status = input.string("status");
    if (status !== undefined && !(REVIEW_STATUSES as readonly string[]).includes(status)) {
      throw specError("status", status, `must be one of ${REVIEW_STATUSES.join(", ")}`);
    }
    const endpoint = input.string("endpoint");
    const reviewer = input.string("reviewer");
    const limit = input.integer("limit", { min: 1, max: 1000 });
    const items = await store().list({
      ...(status !== undefined ? { status: status as ReviewStatus } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(reviewer !== undefined ? { reviewer } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    return { items: items.map(reviewItemJson) };
  });

  app.get<{ Params: ItemParams }>("/api/keel/review/:endpoint/:requestId", { config }, async (req) => ({
    item: reviewItemJson(await store().get(req.params.endpoint, req.params.requestId)),
  }));

  app.post<{ Params: ItemParams }>("/api/keel/review/:endpoint/:requestId/claim", { config }, async (req) => {
    const reviewer = reviewerOf(req, Input.of(req));
    return { item: reviewItemJson(await store().claim(req.params.endpoint, req.params.requestId, reviewer)) };
  });

  app.post<{ Params: ItemParams }>("/api/keel/review/:endpoint/:requestId/decide", { config }, async (req) => {
    const input = Input.of(req);
    const reviewer = reviewerOf(req, input);
    const decision = input.requiredString("decision");
    const reason = input.requiredString("reason");
    const item = await store().decide(req.params.endpoint, req.params.requestId, reviewer, { decision, reason });
    return { item: reviewItemJson(item) };
  });
};
