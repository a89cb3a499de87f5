import type { CategoricalColumn, Column, Frame, NumericColumn } from "../data/index.js";

export interface BatcherOptions {
  /** Most rows scored in one call; a single larger request still goes through whole, alone. */
  readonly maxBatchSize: number;
  /**
   * Longest a request waits for companions once the model is idle. 0 means "whatever arrived in
   * the same turn of the event loop" — no added latency, yet concurrent requests still share a call.
   */
  readonly maxLatencyMs: number;
  /** Batches scored at once (default 1: in-process predictors share one thread anyway). */
  readonly maxConcurrency?: number;
  /** Called with each batch's row count (metrics). */
  readonly onBatch?: (rows: number) => void;
}

interface Pending {
  readonly frame: Frame;
  readonly resolve: (scores: Float64Array) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Adaptive micro-batcher for one model. While the model is busy, requests queue; when it frees up,
 * everything queued (up to `maxBatchSize` rows) is scored in one call and each request receives
 * exactly the slice of scores for its own rows. The queue is unbounded: nothing is rejected or
 * dropped. If a merged batch fails, its requests are retried one by one so a bad request cannot
 * fail its neighbours.
 */
export class MicroBatcher {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private inFlight = 0;
  private scheduled: "immediate" | "timer" | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly maxConcurrency: number;

  constructor(
    private readonly predict: (frame: Frame) => Promise<Float64Array>,
    private readonly options: BatcherOptions,
  ) {
    this.maxConcurrency = options.maxConcurrency ?? 1;
  }

  submit(frame: Frame): Promise<Float64Array> {
    return new Promise<Float64Array>((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      this.queuedRows += frame.nRows;
      if (this.inFlight >= this.maxConcurrency) return; // completion of the running batch flushes
      if (this.queuedRows >= this.options.maxBatchSize) {
        this.flush();
        return;
      }
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running (used to drain a predictor before closing it). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled !== undefined) return;
    if (this.options.maxLatencyMs <= 0) {
      this.scheduled = "immediate";
      setImmediate(() => {
        this.scheduled = undefined;
        this.flush();
      });
    } else {
      this.scheduled = "timer";
      this.timer = setTimeout(() => {
        this.scheduled = undefined;
        this.timer = undefined;
        this.flush();
      }, this.options.maxLatencyMs);
    }
  }

  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.scheduled = undefined;
    }
    while (this.queue.length > 0 && this.inFlight < this.maxConcurrency) {
      const batch: Pending[] = [];
      let rows = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0] as Pending;
        if (batch.length > 0 && rows + next.frame.nRows > this.options.maxBatchSize) break;
        batch.push(next);
        rows += next.frame.nRows;
        this.queue.shift();
      }
      this.queuedRows -= rows;
      this.inFlight++;
      void this.run(batch, rows).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.flush();
        else if (this.inFlight === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  private async run(batch: Pending[], rows: number): Promise<void> {
    this.options.onBatch?.(rows);
    if (batch.length === 1) {
      const only = batch[0] as Pending;
      try {
        only.resolve(await this.predict(only.frame));
      } catch (e) {
        only.reject(e);
      }
      return;
    }
    let scores: Float64Array;
    try {
      scores = await this.predict(
        concatFrames(
          batch.map((p) => p.frame),
          rows,
        ),
      );
      if (scores.length !== rows) throw new Error(`model returned ${scores.length} scores for ${rows} rows`);
    } catch {
      for (const p of batch) {
        try {
          p.resolve(await this.predict(p.frame));
        } catch (e) {
          p.reject(e);
        }
      }
      return;
    }
    let offset = 0;
    for (const p of batch) {
      // Copy, not subarray: callers may keep their scores while the batch buffer is reused elsewhere.
      p.resolve(scores.slice(offset, offset + p.frame.nRows));
      offset += p.frame.nRows;
    }
  }
}

/**
 * Stack frames with the same columns (as one validator produces them) into one. Called per batch
 * on many one-row frames, so it walks the parts with plain loops and copies single values directly.
 */
export function concatFrames(frames: readonly Frame[], nRows: number): Frame {
  const first = frames[0] as Frame;
  const nCols = first.columns.length;
  const columns = new Array<Column>(nCols);
  for (let j = 0; j < nCols; j++) {
    const col = first.columns[j] as Column;
    let anyMask = false;
    for (let k = 0; k < frames.length; k++) if ((frames[k] as Frame).columns[j]?.valid !== undefined) anyMask = true;
    const valid = anyMask ? new Uint8Array(nRows) : undefined;
    if (col.kind === "numeric") {
      const values = new Float64Array(nRows);
      stackParts(frames, j, values, (c) => (c as NumericColumn).values, valid);
      columns[j] =
        valid === undefined
          ? { kind: "numeric", name: col.name, values }
          : { kind: "numeric", name: col.name, values, valid };
      continue;
    }
    const codes = new Int32Array(nRows);
    let shared = true;
    for (let k = 1; k < frames.length; k++)
      if (((frames[k] as Frame).columns[j] as CategoricalColumn).dictionary !== col.dictionary) shared = false;
    let dictionary: readonly string[] = col.dictionary;
    if (shared) stackParts(frames, j, codes, (c) => (c as CategoricalColumn).codes, valid);
    else {
      let o = 0;
      const index = new Map<string, number>();
      for (let k = 0; k < frames.length; k++) {
        const p = (frames[k] as Frame).columns[j] as CategoricalColumn;
        const remap = new Int32Array(p.dictionary.length);
        for (let d = 0; d < p.dictionary.length; d++) {
          const s = p.dictionary[d] as string;
          let code = index.get(s);
          if (code === undefined) {
            code = index.size;
            index.set(s, code);
          }
          remap[d] = code;
        }
        for (let i = 0; i < p.codes.length; i++) {
          const c = p.codes[i] as number;
          codes[o + i] = c < 0 ? -1 : (remap[c] as number);
        }
        if (valid !== undefined) copyValid(valid, p.valid, o, p.codes.length);
        o += p.codes.length;
      }
      dictionary = [...index.keys()];
    }
    columns[j] =
      valid === undefined
        ? { kind: "categorical", name: col.name, codes, dictionary }
        : { kind: "categorical", name: col.name, codes, dictionary, valid };
  }
  return { nRows, columns };
}

/** Column `j`'s array (values or codes) of every frame, back to back into `into`, with their validity. */
function stackParts<T extends Float64Array | Int32Array>(
  frames: readonly Frame[],
  j: number,
  into: T,
  arrayOf: (c: Column) => T,
  valid: Uint8Array | undefined,
): void {
  let o = 0;
  for (let k = 0; k < frames.length; k++) {
    const part = (frames[k] as Frame).columns[j] as Column;
    const a = arrayOf(part);
    // Most parts are one-row requests: a direct store beats set() on a one-element view.
    if (a.length === 1) into[o] = a[0] as number;
    else into.set(a, o);
    if (valid !== undefined) copyValid(valid, part.valid, o, a.length);
    o += a.length;
  }
}

/** A part's validity into the stacked mask at `offset` (no mask: every row valid). */
function copyValid(into: Uint8Array, part: Uint8Array | undefined, offset: number, n: number): void {
  if (part === undefined) into.fill(1, offset, offset + n);
  else into.set(part, offset);
}
