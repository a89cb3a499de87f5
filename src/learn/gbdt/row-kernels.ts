import { Worker } from "node:worker_threads";
import { compileHistogramKernel, histogramKernelSource } from "./histogram.js";
import type { HistogramKernel } from "./histogram.js";
import { gradientRange, partitionRange, sampleGradientRange } from "./kernels.js";

/** Ranges shorter than this stay on the calling thread: a hand-off costs more than it saves. */
const PARALLEL_MIN_ROWS = 16_384;

/** Control words shared with the helper thread. */
const CMD = 0;
const A = 1;
const B = 2;
const DONE = 3;
const RESULT = 4;
const P1 = 5;
const P2 = 6;
const P3 = 7;
/** Set by the helper thread when a command threw; the calling thread then throws too. */
const FAILED = 8;

const CMD_HIST = 1;
const CMD_PARTITION = 2;
const CMD_GRADIENT = 3;
const CMD_SAMPLE = 4;
const CMD_EXIT = 9;

export interface RowKernelsOptions {
  readonly bins: Uint16Array;
  readonly cols: Uint8Array;
  readonly nRows: number;
  readonly nFeatures: number;
  readonly gh: Float64Array;
  readonly idx: Int32Array;
  readonly scratch: Int32Array;
  readonly margin: Float64Array;
  readonly y: Float64Array;
  /** Per row: 1 when in the current round's sample. */
  readonly inSample: Uint8Array;
  readonly totalBins: number;
  readonly threads: number;
}

/**
 * The row-level work of boosting — gradients, node histograms and node partitions — optionally
 * split with one helper thread. Every result is independent of the thread count: a histogram is
 * always summed as two halves added in a fixed order, a partition is stable, gradients are per row.
 * The hand-off is synchronous (Atomics.wait/notify on shared memory): each piece of work takes
 * about a millisecond, too short for message round trips. Arrays must live in SharedArrayBuffers.
 */
export class RowKernels {
  private readonly o: RowKernelsOptions;
  private readonly kernel: HistogramKernel;
  private readonly half: Float64Array;
  private readonly catMask: Uint8Array;
  private readonly ctrl: Int32Array | null;
  private readonly worker: Worker | null;

  constructor(options: RowKernelsOptions) {
    this.o = options;
    this.kernel = compileHistogramKernel(options.nFeatures);
    this.half = new Float64Array(new SharedArrayBuffer(16 * options.totalBins));
    this.catMask = new Uint8Array(new SharedArrayBuffer(256));
    if (options.threads < 2) {
      this.ctrl = null;
      this.worker = null;
      return;
    }
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * (FAILED + 1)));
    const src = `
const { workerData } = require("node:worker_threads");
const hist = ${histogramKernelSource(options.nFeatures)};
const partitionRange = ${partitionRange.toString()};
const gradientRange = ${gradientRange.toString()};
const sampleGradientRange = ${sampleGradientRange.toString()};
const { ctrl, bins, cols, gh, idx, scratch, margin, y, inSample, half, catMask } = workerData;
for (;;) {
  Atomics.wait(ctrl, ${CMD}, 0);
  const cmd = Atomics.load(ctrl, ${CMD});
  if (cmd === ${CMD_EXIT}) break;
  try {
    if (cmd === ${CMD_HIST}) hist(bins, gh, idx, ctrl[${A}], ctrl[${B}], half);
    else if (cmd === ${CMD_PARTITION}) ctrl[${RESULT}] = partitionRange(cols, ctrl[${P1}], idx, scratch, ctrl[${A}], ctrl[${B}], ctrl[${P3}], ctrl[${P2}] >> 16, ctrl[${P2}] & 0xffff, catMask);
    else if (cmd === ${CMD_GRADIENT}) gradientRange(ctrl[${P1}], margin, y, idx, ctrl[${A}], ctrl[${B}], gh);
    else if (cmd === ${CMD_SAMPLE}) ctrl[${RESULT}] = sampleGradientRange(ctrl[${P1}], margin, y, gh, inSample, idx, ctrl[${A}], ctrl[${B}], ctrl[${P2}], ctrl[${P3}] >>> 0);
  } catch {
    Atomics.store(ctrl, ${FAILED}, 1);
  }
  Atomics.store(ctrl, ${CMD}, 0);
  Atomics.store(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}`;
    const o = options;
    this.worker = new Worker(src, {
      eval: true,
      workerData: {
        ctrl: this.ctrl,
        bins: o.bins,
        cols: o.cols,
        gh: o.gh,
        idx: o.idx,
        scratch: o.scratch,
        margin: o.margin,
        y: o.y,
        inSample: o.inSample,
        half: this.half,
        catMask: this.catMask,
      },
    });
    this.worker.unref();
  }

  /** Starts `cmd` on the helper thread over `[a, b)`. */
  private start(ctrl: Int32Array, cmd: number, a: number, b: number): void {
    Atomics.store(ctrl, A, a);
    Atomics.store(ctrl, B, b);
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, CMD, cmd);
    Atomics.notify(ctrl, CMD);
  }

  /** Waits for the helper thread's current command; a command that threw there throws here. */
  private join(ctrl: Int32Array): void {
    Atomics.wait(ctrl, DONE, 0);
    if (Atomics.load(ctrl, FAILED) !== 0) throw new Error("GBDT helper thread failed on a row-kernel command");
  }

  /** Histogram of rows `idx[start..end)` into `out` (length 2 × totalBins). */
  histogram(start: number, end: number, out: Float64Array): void {
    const o = this.o;
    const mid = start + ((end - start) >> 1);
    const ctrl = this.ctrl;
    const half = this.half;
    if (ctrl && end - start >= PARALLEL_MIN_ROWS) {
      this.start(ctrl, CMD_HIST, mid, end);
      this.kernel(o.bins, o.gh, o.idx, start, mid, out);
      this.join(ctrl);
    } else {
      this.kernel(o.bins, o.gh, o.idx, start, mid, out);
      this.kernel(o.bins, o.gh, o.idx, mid, end, half);
    }
    const len = 2 * o.totalBins;
    for (let k = 0; k < len; k++) out[k] = (out[k] as number) + (half[k] as number);
  }

  /**
   * Stable in-place partition of `idx[start..end)`: left rows first, in ascending row order (which
   * keeps later histogram reads close to sequential). Returns the first right index.
   */
  partition(
    feature: number,
    start: number,
    end: number,
    isCat: boolean,
    lo: number,
    tb: number,
    catLeft: Uint8Array | null,
  ): number {
    const o = this.o;
    const base = feature * o.nRows;
    const mask = this.catMask;
    if (catLeft) {
      mask.fill(0);
      mask.set(catLeft);
    }
    const cat = isCat ? 1 : 0;
    const ctrl = this.ctrl;
    if (ctrl && end - start >= PARALLEL_MIN_ROWS) {
      const mid = start + ((end - start) >> 1);
      Atomics.store(ctrl, P1, base);
      Atomics.store(ctrl, P2, (lo << 16) | tb);
      Atomics.store(ctrl, P3, cat);
      this.start(ctrl, CMD_PARTITION, mid, end);
      const nl1 = partitionRange(o.cols, base, o.idx, o.scratch, start, mid, cat, lo, tb, mask);
      this.join(ctrl);
      const nl2 = Atomics.load(ctrl, RESULT);
      // [L1 | R1 | L2 | R2] (R parts in scratch) → [L1 | L2 | R1 | R2] in idx.
      o.idx.copyWithin(start + nl1, mid, mid + nl2);
      const nr1 = mid - start - nl1;
      o.idx.set(o.scratch.subarray(start, start + nr1), start + nl1 + nl2);
      o.idx.set(o.scratch.subarray(mid, mid + (end - mid - nl2)), start + nl1 + nl2 + nr1);
      return start + nl1 + nl2;
    }
    const nl = partitionRange(o.cols, base, o.idx, o.scratch, start, end, cat, lo, tb, mask);
    o.idx.set(o.scratch.subarray(start, start + (end - start - nl)), start + nl);
    return start + nl;
  }

  /** Gradients for rows idx[0..m). */
  gradients(binary: boolean, m: number): void {
    const o = this.o;
    const ctrl = this.ctrl;
    const b = binary ? 1 : 0;
    if (ctrl && m >= PARALLEL_MIN_ROWS) {
      const mid = m >> 1;
      Atomics.store(ctrl, P1, b);
      this.start(ctrl, CMD_GRADIENT, mid, m);
      gradientRange(b, o.margin, o.y, o.idx, 0, mid, o.gh);
      this.join(ctrl);
      return;
    }
    gradientRange(b, o.margin, o.y, o.idx, 0, m, o.gh);
  }

  /**
   * Samples the rows for one round (`key` from the seed and round, `cut` = rate × 2^32) and
   * computes the kept rows' gradients; kept rows end up in idx[0..m), ascending. Returns m.
   */
  sampleAndGradients(binary: boolean, key: number, cut: number): number {
    const o = this.o;
    const ctrl = this.ctrl;
    const b = binary ? 1 : 0;
    const n = o.nRows;
    if (ctrl && n >= PARALLEL_MIN_ROWS) {
      const mid = n >> 1;
      Atomics.store(ctrl, P1, b);
      Atomics.store(ctrl, P2, key | 0);
      Atomics.store(ctrl, P3, cut | 0);
      this.start(ctrl, CMD_SAMPLE, mid, n);
      const m1 = sampleGradientRange(b, o.margin, o.y, o.gh, o.inSample, o.idx, 0, mid, key, cut);
      this.join(ctrl);
      const m2 = Atomics.load(ctrl, RESULT);
      o.idx.copyWithin(m1, mid, mid + m2);
      return m1 + m2;
    }
    return sampleGradientRange(b, o.margin, o.y, o.gh, o.inSample, o.idx, 0, n, key, cut);
  }

  async close(): Promise<void> {
    if (!this.worker || !this.ctrl) return;
    Atomics.store(this.ctrl, CMD, CMD_EXIT);
    Atomics.notify(this.ctrl, CMD);
    await this.worker.terminate();
  }
}
