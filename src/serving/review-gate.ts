import { UnavailableError } from "../errors.js";
import type { NewReviewItem, ReviewStore } from "../store/index.js";
import type { EndpointConfig } from "./endpoint-config.js";
import type { InputTable } from "./input-table.js";
import type { ServingMetrics } from "./metrics.js";
import { decisionOf, rowEntities, rowFeatures, rowRequestId, type PredictionResult } from "./prediction-log.js";
import { reviewReasons, type RowReview } from "./review-rules.js";

/**
 * Serving's side of the review queue: which rows of an answer an endpoint's review policy sends
 * to a person, and their queue items, written before the answer is sent (an answer saying
 * `review: pending` is always backed by a stored item; when the queue cannot be written the
 * request fails with 503 rather than skip a review a rule demanded).
 */
export class ReviewGate {
  constructor(
    private readonly queue: Pick<ReviewStore, "enqueue"> | undefined,
    private readonly metrics: ServingMetrics,
  ) {}

  /**
   * The rows' reviews (undefined where a row is not reviewed) once their items are queued, or
   * undefined — synchronously, so the common case adds no await to the request — when none is.
   */
  review(
    config: EndpointConfig,
    result: PredictionResult,
    table: InputTable,
    time: number,
    entityId: string | undefined,
  ): Promise<(RowReview | undefined)[]> | undefined {
    const policy = config.review;
    if (policy === undefined) return undefined;
    const n = result.scores.length;
    let out: (RowReview | undefined)[] | undefined;
    const items: NewReviewItem[] = [];
    // The same row inputs and entity ids the inference log records for these rows.
    const entities = rowEntities(config, table, entityId);
    const features = rowFeatures(table);
    for (let i = 0; i < n; i++) {
      const score = result.scores[i] as number;
      const requestId = rowRequestId(result.requestId, n, i);
      const reasons = reviewReasons(policy, requestId, score, table, i);
      if (reasons.length === 0) continue;
      const modelDecision = decisionOf(config, score, result.threshold);
      const interimDecision = policy.interimDecision ?? modelDecision;
      out ??= new Array<RowReview | undefined>(n).fill(undefined);
      out[i] = { reasons, interimDecision };
      const entity = entities(i);
      items.push({
        endpoint: config.name,
        requestId,
        modelName: result.modelName,
        modelVersion: result.modelVersion,
        route: result.route,
        ...(entity !== undefined ? { entityId: entity } : {}),
        score,
        modelDecision,
        interimDecision,
        positiveDecision: config.decision.positive,
        negativeDecision: config.decision.negative,
        reasons,
        inputs: features(i),
      });
    }
    if (out === undefined) return undefined;
    const reviews = out;
    const queue = this.queue;
    if (queue === undefined) {
      return Promise.reject(
        new UnavailableError(
          `endpoint ${config.name} sends decisions to review but this server has no review queue configured`,
        ),
      );
    }
    return queue.enqueue(items, time).then(
      () => {
        this.metrics.reviewsQueued.inc({ endpoint: config.name }, items.length);
        return reviews;
      },
      (cause: unknown) => {
        throw new UnavailableError(`review queue: the review of request ${result.requestId} could not be queued`, {
          cause,
        });
      },
    );
  }
}
