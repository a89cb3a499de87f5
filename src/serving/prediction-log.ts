import type { Column, Frame } from "../data/index.js";
import { UnavailableError } from "../errors.js";
import { deferred, type Deferred, type Logger } from "../runtime/index.js";
import {
  REFUSED_ROUTE,
  type FeatureValues,
  type InferenceLog,
  type InferenceRecord,
  type ReasonCode,
  type ShadowScore,
  type WriteRetryEvent,
} from "../store/index.js";
import { DEFAULT_DECISION, type EndpointConfig } from "./endpoint-config.js";
import type { InputTable } from "./input-table.js";
import type { ServingMetrics } from "./metrics.js";
import type { RowReview } from "./review-rules.js";
import { inPercent, type Route } from "./router.js";

/** What a request was answered with, as the prediction routes return it. */
export interface PredictionResult {
  readonly requestId: string;
  readonly endpoint: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly route: Route;
  readonly scores: Float64Array;
  /** The threshold the scores are decided at (see thresholdOf). */
  readonly threshold: number;
  /** Set when the fallback answered: why the primary did not. */
  readonly fallback?: "model_error" | "deadline";
  readonly cachedRows: number;
  /** Rows sent to the human review queue (undefined where a row is not), when any is. */
  readonly reviews?: readonly (RowReview | undefined)[];
  /** Per row, the top reason codes, when the decision was explained. */
  readonly reasons?: readonly (readonly ReasonCode[])[];
}

/** What a decision record adds to a served row's inference-log record (docs/decisions.md). */
export interface DecisionContext {
  /** The caller's token name; "anonymous" when auth is off. */
  readonly caller: string;
  /** The registered sha256 of the artifact that scored; absent for a fixed fallback score. */
  readonly artifactSha256: string | undefined;
  /** The validated frame the model scored: the inputs as scored. */
  readonly frame: Frame;
}

/** A logged row held back until the request's shadows have added their answers to it. */
export type HeldRecord = InferenceRecord & { readonly shadows: ShadowScore[] };

/**
 * Serving's side of the inference log: which requests are logged (sampling), their records, and
 * their appends. A record is counted `written` only once its append has committed; an append that
 * fails is counted on `keel_inference_log_write_failures_total` and logged, and fails the request
 * when it was an audit (`audit: "sync"`) record. Async records the log holds after a failed write
 * are shown on `keel_inference_log_held_records` and logged at each failed attempt.
 */
export class PredictionLog {
  private readonly pending = new Set<Promise<void>>();
  /** Resolved by the log's next `held` event (see idle). */
  private nextHeld: Deferred<void> | undefined;
  private holding = false;
  /** The async appends waiting on the same commit as the last one. */
  private asyncBatch: { readonly commit: Promise<void>; appends: number; records: number } | undefined;
  private readonly written: { inc(n: number): void };
  private readonly sampledOut: { inc(n: number): void };

  constructor(
    private readonly sink: InferenceLog | undefined,
    private readonly metrics: ServingMetrics,
    private readonly logger: Logger,
  ) {
    this.written = metrics.inferenceLogRecords.labels({ outcome: "written" });
    this.sampledOut = metrics.inferenceLogRecords.labels({ outcome: "sampled_out" });
    sink?.onWriteRetry?.((event) => this.writeRetry(event));
  }

  private writeRetry(event: WriteRetryEvent): void {
    if (event.kind === "held") {
      this.holding = true;
      this.nextHeld?.resolve();
      this.nextHeld = undefined;
      this.metrics.inferenceLogHeldRecords.set(event.heldRecords);
      this.logger.warn(
        { err: event.error, heldRecords: event.heldRecords, retryInMs: event.retryInMs },
        "inference log write failed; its records are held to be written again",
      );
    } else {
      this.holding = false;
      this.metrics.inferenceLogHeldRecords.set(0);
      this.logger.info({ records: event.written }, "inference log writes resumed; held records written");
    }
  }

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
    decision?: DecisionContext,
  ): InferenceRecord[] | undefined {
    if (this.sink === undefined) return undefined;
    const rate = config.inferenceLog.sampleRate;
    if (rate < 1 && (rate <= 0 || !inPercent(r.requestId, rate * 100))) {
      this.sampledOut.inc(r.scores.length);
      return undefined;
    }
    const entities = rowEntities(config, table, entityId);
    const features = rowFeatures(table);
    const out: InferenceRecord[] = new Array<InferenceRecord>(r.scores.length);
    for (let i = 0; i < r.scores.length; i++) {
      const score = r.scores[i] as number;
      const rowValues = features(i);
      const decided = decisionOf(config, score, r.threshold);
      // Optional fields are set only when present (no spreads): this runs for every logged row.
      const record: Writable<InferenceRecord> = {
        requestId: rowRequestId(r.requestId, r.scores.length, i),
        time,
        endpoint: r.endpoint,
        modelName: r.modelName,
        modelVersion: r.modelVersion,
        route: r.route,
        features: rowValues,
        outputs: r.fallback ? { score, decision: decided, fallback: r.fallback } : { score, decision: decided },
        latencyMs,
      };
      const entity = entities(i);
      if (entity !== undefined) record.entityId = entity;
      if (holdForShadows) record.shadows = [];
      if (decision !== undefined) addDecisionFields(record, decision, rowValues, i, r.reasons?.[i], r.threshold);
      out[i] = record;
    }
    return out;
  }

  /**
   * Logs a refused request in the background, sampled as predictions are: one record per row,
   * route `refused`, the raw inputs as received and the refusal (`field = value: rule`) in
   * `outputs.refused`, so monitoring counts what the door turned away.
   */
  logRefused(
    config: EndpointConfig,
    refused: { readonly requestId: string; readonly modelName: string; readonly modelVersion: string },
    table: InputTable,
    time: number,
    reason: string,
    entityId: string | undefined,
  ): void {
    if (this.sink === undefined) return;
    const rate = config.inferenceLog.sampleRate;
    if (rate < 1 && !inPercent(refused.requestId, rate * 100)) return;
    const entities = rowEntities(config, table, entityId);
    const features = rowFeatures(table);
    const records: InferenceRecord[] = [];
    for (let i = 0; i < table.nRows; i++) {
      const entity = entities(i);
      records.push({
        requestId: rowRequestId(refused.requestId, table.nRows, i),
        time,
        endpoint: config.name,
        modelName: refused.modelName,
        modelVersion: refused.modelVersion,
        route: REFUSED_ROUTE,
        ...(entity !== undefined ? { entityId: entity } : {}),
        features: features(i),
        outputs: { refused: reason },
        latencyMs: 0,
      });
    }
    if (records.length > 0) void this.append(records, false, refused.requestId);
  }

  /**
   * Append records. An audit append returns its write, which rejects with an UnavailableError when
   * the record could not be written; any other append is tracked until `idle` and returns undefined.
   */
  append(records: readonly InferenceRecord[], audit: boolean, requestId: string): Promise<void> | undefined {
    const sink = this.sink;
    if (sink === undefined) return undefined;
    const durability = audit ? "sync" : "async";
    const commit = sink.append(records, { durability, awaitCommit: true });
    if (!audit) {
      // Async appends gathered into one transaction share its commit: one handler per batch, not
      // one promise chain per request, counts them all when it settles.
      const batch = this.asyncBatch;
      if (batch?.commit === commit) {
        batch.appends++;
        batch.records += records.length;
        return undefined;
      }
      const next = { commit, appends: 1, records: records.length };
      this.asyncBatch = next;
      this.track(
        commit.then(
          () => this.written.inc(next.records),
          (e: unknown) => this.failed(e, "async", next.appends, next.records),
        ),
      );
      return undefined;
    }
    return commit.then(
      () => this.written.inc(records.length),
      (e: unknown) => {
        this.failed(e, "sync", 1, records.length);
        throw new UnavailableError(`inference log: the audit record of request ${requestId} could not be written`, {
          cause: e,
        });
      },
    );
  }

  /** Counts and logs the appends of a failed write (each append is one request's records). */
  private failed(e: unknown, durability: "sync" | "async", appends: number, records: number): void {
    this.metrics.inferenceLogRecords.inc({ outcome: "failed" }, records);
    this.metrics.inferenceLogWriteFailures.inc({ durability }, appends);
    this.logger.error({ err: e, records, appends, durability }, "inference log append failed");
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
    // Held records are written once the log can, or failed when it closes: a stop does not wait for them.
    if (this.holding) return;
    this.nextHeld ??= deferred();
    await Promise.race([Promise.allSettled([...this.pending]), this.nextHeld.promise]);
  }

  private track(write: Promise<void>): void {
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }
}

/** The id a row of a request is logged (and reviewed) under: the request id, `<id>#<row>` for multi-row requests. */
export function rowRequestId(requestId: string, nRows: number, row: number): string {
  return nRows === 1 ? requestId : `${requestId}#${row}`;
}

function addDecisionFields(
  record: Writable<InferenceRecord>,
  d: DecisionContext,
  features: FeatureValues,
  row: number,
  reasons: readonly ReasonCode[] | undefined,
  threshold: number,
): void {
  record.caller = d.caller;
  if (d.artifactSha256 !== undefined) record.artifactSha256 = d.artifactSha256;
  record.threshold = threshold;
  const scored = scoredInputs(d.frame, row, features);
  if (scored !== undefined) record.scored = scored;
  if (reasons !== undefined) record.reasons = reasons;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The model's inputs of one row as it scored them, or undefined when they equal the received ones
 * (the usual case, so the record does not hold the inputs twice): text parsed to numbers, a
 * category scored as missing, or a missing input differ.
 */
export function scoredInputs(frame: Frame, row: number, received: FeatureValues): FeatureValues | undefined {
  // Compared first, built only when they differ: this runs for every logged row.
  if (!frame.columns.some((c) => !sameInput(received[c.name] ?? null, scoredValue(c, row)))) return undefined;
  const out: Record<string, string | number | null> = {};
  for (const c of frame.columns) out[c.name] = scoredValue(c, row);
  return out;
}

function scoredValue(c: Column, row: number): string | number | null {
  if (c.kind === "numeric") {
    const x = c.values[row] as number;
    return x !== x || c.valid?.[row] === 0 ? null : x;
  }
  const code = c.codes[row] as number;
  return code < 0 ? null : (c.dictionary[code] as string);
}

function sameInput(received: string | number | boolean | null, scored: string | number | null): boolean {
  return received === scored || (typeof received === "boolean" && scored === (received ? 1 : 0));
}

/** Used when neither the endpoint nor the version sets a threshold. */
export const DEFAULT_THRESHOLD = 0.5;

/** The threshold a model's scores are decided at on an endpoint: the endpoint's override, else the version's. */
export function thresholdOf(
  config: EndpointConfig | undefined,
  model: { readonly decisionThreshold?: number | undefined } | undefined,
): number {
  return config?.decision.threshold ?? model?.decisionThreshold ?? DEFAULT_THRESHOLD;
}

export function decisionOf(config: EndpointConfig | undefined, score: number, threshold: number): string {
  const d = config?.decision ?? DEFAULT_DECISION;
  return score >= threshold ? d.positive : d.negative;
}

/** Row → the record's entity id: the endpoint's entity column when the row has one, else the request's. */
export function rowEntities(
  config: EndpointConfig,
  table: InputTable,
  entityId: string | undefined,
): (row: number) => string | undefined {
  const key = config.entityKey ?? table.entityColumn;
  const column = key !== undefined ? table.columns.get(key) : undefined;
  return (row) => {
    const v = column?.[row];
    return v !== undefined && v !== null ? String(v) : entityId;
  };
}

/** Row → its raw inputs as received; each column is looked up once, not once per row. */
export function rowFeatures(table: InputTable): (row: number) => Record<string, string | number | boolean | null> {
  const columns = [...table.columns];
  return (row) => {
    const features: Record<string, string | number | boolean | null> = {};
    for (const [n, values] of columns) features[n] = values[row] ?? null;
    return features;
  };
}
