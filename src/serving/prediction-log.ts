import { UnavailableError } from "../errors.js";
import type { Logger } from "../runtime/index.js";
import type { InferenceLog, InferenceRecord, ShadowScore } from "../store/index.js";
import type { EndpointConfig } from "./endpoint-config.js";
import type { InputTable } from "./input-table.js";
import type { ServingMetrics } from "./metrics.js";
import { inPercent, type Route } from "./router.js";

/** What a request was answered with, as the prediction routes return it. */
export interface PredictionResult {
  readonly requestId: string;
  readonly endpoint: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly route: Route;
  readonly scores: Float64Array;
  /** Set when the fallback answered: why the primary did not. */
  readonly fallback?: "model_error" | "deadline";
  readonly cachedRows: number;
}

/** A logged row held back until the request's shadows have added their answers to it. */
export type HeldRecord = InferenceRecord & { readonly shadows: ShadowScore[] };

/**
 * Serving's side of the inference log: which requests are logged (sampling), their records, and
 * their appends. A record is counted `written` only once its append has committed; an append that
 * fails is counted on `keel_inference_log_write_failures_total` and logged, and fails the request
 * when it was an audit (`audit: "sync"`) record.
 */
export class PredictionLog {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly sink: InferenceLog | undefined,
    private readonly metrics: ServingMetrics,
    private readonly logger: Logger,
  ) {}

  /**
   * The request's records, or undefined when there is no log or the request is sampled out (by a
   * hash of the request id, so a request and its shadow answers are kept or dropped together).
   * `holdForShadows`: each record gets an empty `shadows` list for its shadows to fill.
   */
  sampledRecords(
    config: EndpointConfig,
    r: PredictionResult,
    table: InputTable,
    time: number,
    latencyMs: number,
    entityId: string | undefined,
    holdForShadows: boolean,
  ): InferenceRecord[] | undefined {
    if (this.sink === undefined) return undefined;
    const rate = config.inferenceLog.sampleRate;
    if (rate < 1 && !inPercent(r.requestId, rate * 100)) {
      this.metrics.inferenceLogRecords.inc({ outcome: "sampled_out" }, r.scores.length);
      return undefined;
    }
    // Each column is looked up once, not once per row.
    const columns = [...table.columns];
    const entityKey = config.entityKey ?? table.entityColumn;
    const entityColumn = entityKey !== undefined ? table.columns.get(entityKey) : undefined;
    const out: InferenceRecord[] = new Array<InferenceRecord>(r.scores.length);
    for (let i = 0; i < r.scores.length; i++) {
      const features: Record<string, string | number | boolean | null> = {};
      for (const [n, values] of columns) features[n] = values[i] ?? null;
      const score = r.scores[i] as number;
      const rowEntity = entityColumn?.[i];
      const entity = rowEntity !== undefined && rowEntity !== null ? String(rowEntity) : entityId;
      out[i] = {
        requestId: r.scores.length === 1 ? r.requestId : `${r.requestId}#${i}`,
        time,
        endpoint: r.endpoint,
        modelName: r.modelName,
        modelVersion: r.modelVersion,
        route: r.route,
        ...(entity !== undefined ? { entityId: entity } : {}),
        features,
        outputs: { score, decision: decisionOf(config, score), ...(r.fallback ? { fallback: r.fallback } : {}) },
        latencyMs,
        ...(holdForShadows ? { shadows: [] } : {}),
      };
    }
    return out;
  }

  /**
   * Append records. An audit append returns its write, which rejects with an UnavailableError when
   * the record could not be written; any other append is tracked until `idle` and returns undefined.
   */
  append(records: readonly InferenceRecord[], audit: boolean, requestId: string): Promise<void> | undefined {
    const sink = this.sink;
    if (sink === undefined) return undefined;
    const durability = audit ? "sync" : "async";
    const write = sink.append(records, { durability, awaitCommit: true }).then(
      () => void this.metrics.inferenceLogRecords.inc({ outcome: "written" }, records.length),
      (e: unknown) => {
        this.metrics.inferenceLogRecords.inc({ outcome: "failed" }, records.length);
        this.metrics.inferenceLogWriteFailures.inc({ durability });
        this.logger.error({ err: e, records: records.length, durability }, "inference log append failed");
        if (audit)
          throw new UnavailableError(`inference log: the audit record of request ${requestId} could not be written`, {
            cause: e,
          });
      },
    );
    if (audit) return write;
    this.track(write);
    return undefined;
  }

  /** Record a decision that is not a prediction (a canary rollback) durably, in the background. */
  appendEvent(record: InferenceRecord, failure: string): void {
    const sink = this.sink;
    if (sink === undefined) return;
    const write = sink.append([record], { durability: "sync" }).catch((e: unknown) => {
      this.metrics.inferenceLogWriteFailures.inc({ durability: "sync" });
      this.logger.error({ err: e }, failure);
    });
    this.track(write);
  }

  /**
   * Writes out what the log still buffers and resolves once every append made so far has settled.
   * Without the flush an append awaiting its commit would wait on the log's (unref'd) flush timer,
   * which a stopping process may never fire.
   */
  async idle(): Promise<void> {
    if (this.pending.size > 0) await this.sink?.flush().catch(() => undefined);
    await Promise.allSettled([...this.pending]);
  }

  private track(write: Promise<void>): void {
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }
}

export function decisionOf(config: EndpointConfig | undefined, score: number): string {
  const d = config?.decision ?? { threshold: 0.5, positive: "positive", negative: "negative" };
  return score >= d.threshold ? d.positive : d.negative;
}
