import type { Frame } from "../data/index.js";
import type { Logger } from "../runtime/index.js";
import type { InferenceRecord } from "../store/index.js";
import { concatFrames } from "./batcher.js";
import type { EndpointRuntime } from "./endpoint-registry.js";
import type { InputTable } from "./input-table.js";
import type { ServingMetrics } from "./metrics.js";
import type { LoadedModel } from "./model-pool.js";
import {
  decisionOf,
  thresholdOf,
  type HeldRecord,
  type PredictionLog,
  type PredictionResult,
} from "./prediction-log.js";

export interface ShadowWork {
  readonly ep: EndpointRuntime;
  readonly shadows: readonly LoadedModel[];
  readonly table: InputTable;
  /** The served model's validated frame: shadows with the same signature score it as is. */
  readonly frame: Frame;
  readonly signatureKey: string;
  readonly requestId: string;
  readonly entityId: string | undefined;
  readonly time: number;
  /**
   * The request's records, appended once every shadow has answered (async log). Undefined when
   * the request is not logged, or was logged before the answer (`audit: "sync"`): then each
   * shadow writes records of its own.
   */
  readonly records: HeldRecord[] | undefined;
}

export interface ShadowOptions {
  /** Requests whose shadow scoring may wait at once (default 1024); past it new work is dropped. */
  readonly queueLimit?: number;
  /** Longest a request's log records wait for its shadows' answers (default 5000 ms). */
  readonly logWaitMs?: number;
}

/**
 * Shadow scoring, off the response's critical path: the work is queued (bounded) and run in a
 * later turn of the event loop, after the answer has been written. Each shadow model is held
 * from the moment the work is queued, so an alias move cannot close it in between.
 */
export class ShadowRunner {
  private queue: ShadowWork[] = [];
  private scheduled = false;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private readonly queueLimit: number;
  private readonly logWaitMs: number;

  constructor(
    private readonly metrics: ServingMetrics,
    private readonly log: PredictionLog,
    private readonly logger: Logger,
    options: ShadowOptions,
  ) {
    this.queueLimit = options.queueLimit ?? 1024;
    this.logWaitMs = options.logWaitMs ?? 5000;
  }

  /** Whether shadow work can be queued now; when not, it is counted as dropped. */
  accepts(ep: EndpointRuntime, shadows: readonly LoadedModel[]): boolean {
    if (this.queue.length < this.queueLimit && !this.stopped) return true;
    for (const shadow of shadows)
      this.metrics.shadowRequests.inc({ endpoint: ep.config.name, model_version: shadow.version, outcome: "dropped" });
    return false;
  }

  enqueue(work: ShadowWork): void {
    for (const shadow of work.shadows) shadow.hold();
    this.queue.push(work);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Refuse new work, score what is queued and wait for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.drain();
    await this.running;
  }

  /**
   * Score everything queued, grouped by endpoint and shadow model: one frame and one model call
   * per group. Once every group has answered, the held records (now carrying the shadows'
   * answers) go to the log in one append.
   */
  private drain(): void {
    this.scheduled = false;
    const work = this.queue;
    if (work.length === 0) return;
    this.queue = [];
    const groups = new Map<string, { ep: EndpointRuntime; shadow: LoadedModel; items: ShadowWork[] }>();
    for (const w of work) {
      for (const shadow of w.shadows) {
        const key = `${w.ep.config.name}\u0000${shadow.name}\u0000${shadow.version}`;
        const g = groups.get(key);
        if (g === undefined) groups.set(key, { ep: w.ep, shadow, items: [w] });
        else g.items.push(w);
      }
    }
    const runs: Promise<unknown>[] = [];
    for (const g of groups.values()) runs.push(this.run(g.ep, g.shadow, g.items));
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.logWaitMs);
      timer.unref();
    });
    const held = Promise.race([Promise.allSettled(runs), waited]).then(() => {
      clearTimeout(timer);
      const records: InferenceRecord[] = [];
      for (const w of work) if (w.records !== undefined) for (const r of w.records) records.push(r);
      if (records.length > 0) void this.log.append(records, false, "");
    });
    this.running = Promise.all([this.running, held]).then(() => undefined);
  }

  private async run(ep: EndpointRuntime, shadow: LoadedModel, items: readonly ShadowWork[]): Promise<void> {
    const name = ep.config.name;
    const outcome = (o: string) => ({ endpoint: name, model_version: shadow.version, outcome: o });
    const started = performance.now();
    try {
      const frames: Frame[] = [];
      const scored: ShadowWork[] = [];
      let rows = 0;
      for (const w of items) {
        try {
          const frame =
            w.signatureKey === shadow.signatureKey ? w.frame : shadow.validatorFor(ep.config.input)(w.table);
          frames.push(frame);
          scored.push(w);
          rows += frame.nRows;
        } catch (e) {
          this.metrics.shadowRequests.inc(outcome("error"));
          this.logger.error(
            { err: e },
            `shadow ${shadow.name} v${shadow.version} refused an input on endpoint ${name}`,
          );
        }
      }
      if (scored.length === 0) return;
      let scores: Float64Array;
      try {
        scores = await shadow.batcher.submit(frames.length === 1 ? (frames[0] as Frame) : concatFrames(frames, rows));
      } catch (e) {
        this.metrics.shadowRequests.inc(outcome("error"), scored.length);
        this.logger.error({ err: e }, `shadow ${shadow.name} v${shadow.version} failed on endpoint ${name}`);
        return;
      }
      this.metrics.shadowRequests.inc(outcome("ok"), scored.length);
      this.record(ep, shadow, scored, frames, scores, performance.now() - started);
    } finally {
      for (let k = 0; k < items.length; k++) shadow.unhold();
    }
  }

  /** Shadow answers into the held records, or (audit endpoints) into records of their own. */
  private record(
    ep: EndpointRuntime,
    shadow: LoadedModel,
    scored: readonly ShadowWork[],
    frames: readonly Frame[],
    scores: Float64Array,
    latency: number,
  ): void {
    const standalone: InferenceRecord[] = [];
    let offset = 0;
    for (let k = 0; k < scored.length; k++) {
      const w = scored[k] as ShadowWork;
      const n = (frames[k] as Frame).nRows;
      if (w.records !== undefined) {
        for (let i = 0; i < n; i++) {
          const score = scores[offset + i] as number;
          (w.records[i] as HeldRecord).shadows.push({
            modelName: shadow.name,
            modelVersion: shadow.version,
            outputs: { score, decision: decisionOf(ep.config, score, thresholdOf(ep.config, shadow)) },
            latencyMs: latency,
          });
        }
      } else if (ep.config.inferenceLog.audit === "sync") {
        const result: PredictionResult = {
          requestId: w.requestId,
          endpoint: ep.config.name,
          modelName: shadow.name,
          modelVersion: shadow.version,
          route: "shadow",
          scores: scores.subarray(offset, offset + n),
          threshold: thresholdOf(ep.config, shadow),
          cachedRows: 0,
        };
        const rs = this.log.sampledRecords(ep.config, result, w.table, w.time, latency, w.entityId, false);
        if (rs !== undefined) for (const r of rs) standalone.push(r);
      }
      offset += n;
    }
    if (standalone.length > 0) void this.log.append(standalone, false, "");
  }
}
