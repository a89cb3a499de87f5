import { compileHistogramKernel, compilePackedHistogramKernel } from "./histogram.js";
import type { HistogramKernel, PackedHistogramKernel } from "./histogram.js";
import type { BinTree } from "./grow.js";
import {
  CMD_GRADIENT,
  CMD_HIST,
  CMD_LEAF_SUMS,
  CMD_OUTSIDE,
  CMD_PARTITION,
  CMD_QUANTIZE,
  CMD_SAMPLE,
  HelperThread,
  P1,
  P2,
  P3,
  P4,
} from "./helper-thread.js";
import {
  PACKED_NODE_WORDS,
  addTreeOutsideSample,
  gradientRange,
  leafSumsRange,
  partitionRange,
  quantizeRange,
  sampleGradientRange,
} from "./kernels.js";

/** Ranges shorter than this stay on the calling thread: a hand-off costs more than it saves. */
const PARALLEL_MIN_ROWS = 16_384;

/**
 * Rounds with at least this many sampled rows train on quantised gradients: histograms then add
 * one number per row and feature instead of two. Smaller rounds keep exact gradients (and match
 * XGBoost's trees), where the histograms are cheap anyway.
 */
export const QUANTIZE_MIN_ROWS = 100_000;
/** Most quantisation levels per sign; fewer for large samples so that packed sums stay exact. */
const QUANTIZE_MAX_LEVELS = 127;
/** Below this many levels the rounding noise would cost accuracy: such rounds stay exact. */
const QUANTIZE_MIN_LEVELS = 8;

export interface RowKernelsOptions {
  readonly bins: Uint8Array;
  /** Per feature: the first global bin (see BinnedMatrix). */
  readonly binOffset: Int32Array;
  readonly cols: Uint8Array;
  readonly nRows: number;
  readonly nFeatures: number;
  readonly gh: Float64Array;
  /** Per row, two int8: the quantised gradient and hessian of the round (see quantizeRange). */
  readonly quantizedGh: Int8Array;
  /**
   * 2 × nRows row slots in one shared buffer: the node row lists (`idx`) in [0, nRows), the
   * partition's scratch in [nRows, 2 nRows). One buffer lets a partition move rows from the
   * scratch with `copyWithin`, which on shared memory costs a third of a `set` from another array.
   */
  readonly rowSlots: Int32Array;
  readonly margin: Float64Array;
  readonly y: Float64Array;
  /** Per row: 1 when in the current round's sample. */
  readonly inSample: Uint8Array;
  readonly totalBins: number;
  /** Most nodes a tree can have (2 × num_leaves − 1). */
  readonly maxNodes: number;
  readonly threads: number;
}

/**
 * The row-level work of boosting — gradients, node histograms and node partitions — optionally
 * split with one helper thread. Every result is independent of the thread count: a histogram is
 * always summed as two halves added in a fixed order, a partition is stable, gradients are per row.
 * The hand-off is synchronous (Atomics.wait/notify on shared memory, after a short poll): each
 * piece of work takes about a millisecond, too short for message round trips. Arrays must live in SharedArrayBuffers.
 */
export class RowKernels {
  private readonly o: RowKernelsOptions;
  /** The node row lists: rowSlots[0, nRows). */
  readonly idx: Int32Array;
  private readonly scratch: Int32Array;
  private readonly kernel: HistogramKernel;
  private readonly packedKernel: PackedHistogramKernel;
  private readonly half: Float64Array;
  /** The calling thread's share of a histogram (two copies when packed, see the kernel). */
  private readonly own: Float64Array;
  /** Gradient/hessian sums of a packed histogram (see `gradHess`). */
  private readonly unpacked: Float64Array;
  /** Leaf row ranges, nodes and half sums for `leafSums` (see leafSumsRange). */
  private readonly leafRanges: Int32Array;
  private readonly leafNodes: Int32Array;
  /** Per leaf range: the unpartitioned split it holds, if any, and its categorical mask (see leafSumsRange). */
  private readonly leafSplits: Int32Array;
  private readonly leafMasks: Uint8Array;
  /**
   * Per row: the leaf node of the last quantised round's tree that the row reached, if sampled;
   * one byte when node numbers fit, so that the scattered writes stay within a smaller array.
   */
  private readonly leafOf: Uint8Array | Int32Array;
  /** Largest |gradient| and hessian of the last gradient pass, per half (see gradientRange). */
  private readonly maxima: Float64Array;
  /** Whether `maxima` describe the current gradients (weighting rows changes them). */
  private maximaCurrent = false;
  /** 1 while the packed tree's leaf values still have to go into the margins (see deferTree). */
  private pendingTree = 0;
  /** Binary: e^(-margin) per row and e^(-leaf value) per node of the packed tree (see sampleGradientRange). */
  private readonly expNegMargin: Float64Array;
  private readonly treeExpValues: Float64Array;
  /** The rows each half's last sampling pass left out, and where each half's list ends (see sampleGradientRange). */
  private readonly dropped: Int32Array;
  private readonly droppedEnd: Int32Array;
  /** Whether `expNegMargin` matches the margins but for a pending tree. */
  private expCurrent = false;
  private readonly leafHalves: Float64Array;
  /** quantizeRange's float arguments for the helper: gInv, hInv, scale. */
  private readonly qArgs: Float64Array;
  /** Whether this round's gradients are quantised (set by `quantize`). */
  quantized = false;
  private gScale = 0;
  private hScale = 0;
  private packScale = 1;
  private readonly catMask: Uint8Array;
  /** The current tree, packed for `addTreeOutsideSample`. */
  private readonly treeNodes: Int32Array;
  private readonly treeValues: Float64Array;
  /** Per node of the current tree, 256 bytes: 1 where a bin goes left (see packedTreeLeaf). */
  private readonly treeLut: Uint8Array;
  /** The thread that takes half of each row pass (`threads` ≥ 2). */
  private readonly helper: HelperThread | null;

  constructor(options: RowKernelsOptions) {
    this.o = options;
    this.idx = options.rowSlots.subarray(0, options.nRows);
    this.scratch = options.rowSlots.subarray(options.nRows, 2 * options.nRows);
    this.kernel = compileHistogramKernel(options.binOffset);
    this.packedKernel = compilePackedHistogramKernel(options.binOffset);
    this.half = new Float64Array(new SharedArrayBuffer(16 * options.totalBins));
    this.own = new Float64Array(2 * options.totalBins);
    this.unpacked = new Float64Array(2 * options.totalBins);
    this.qArgs = new Float64Array(new SharedArrayBuffer(8 * 3));
    this.leafRanges = new Int32Array(new SharedArrayBuffer(8 * options.maxNodes));
    this.leafNodes = new Int32Array(new SharedArrayBuffer(4 * options.maxNodes));
    this.leafSplits = new Int32Array(new SharedArrayBuffer(12 * options.maxNodes));
    this.leafMasks = new Uint8Array(new SharedArrayBuffer(256 * options.maxNodes));
    this.leafOf =
      options.maxNodes <= 256
        ? new Uint8Array(new SharedArrayBuffer(options.nRows))
        : new Int32Array(new SharedArrayBuffer(4 * options.nRows));
    this.maxima = new Float64Array(new SharedArrayBuffer(8 * 4));
    this.leafHalves = new Float64Array(new SharedArrayBuffer(64 * options.maxNodes));
    this.catMask = new Uint8Array(new SharedArrayBuffer(256));
    this.treeNodes = new Int32Array(new SharedArrayBuffer(4 * PACKED_NODE_WORDS * options.maxNodes));
    this.treeValues = new Float64Array(new SharedArrayBuffer(8 * options.maxNodes));
    this.treeExpValues = new Float64Array(new SharedArrayBuffer(8 * options.maxNodes));
    this.expNegMargin = new Float64Array(new SharedArrayBuffer(8 * options.nRows));
    this.dropped = new Int32Array(new SharedArrayBuffer(4 * options.nRows));
    this.droppedEnd = new Int32Array(new SharedArrayBuffer(8));
    this.treeLut = new Uint8Array(new SharedArrayBuffer(256 * options.maxNodes));
    if (options.threads < 2) {
      this.helper = null;
      return;
    }
    const o = options;
    this.helper = new HelperThread(o.binOffset, {
      bins: o.bins,
      nFeatures: o.nFeatures,
      cols: o.cols,
      nRows: o.nRows,
      gh: o.gh,
      quantizedGh: o.quantizedGh,
      rowSlots: o.rowSlots,
      margin: o.margin,
      y: o.y,
      inSample: o.inSample,
      half: this.half,
      catMask: this.catMask,
      treeNodes: this.treeNodes,
      treeValues: this.treeValues,
      treeExpValues: this.treeExpValues,
      expNegMargin: this.expNegMargin,
      dropped: this.dropped,
      droppedEnd: this.droppedEnd,
      treeLut: this.treeLut,
      qArgs: this.qArgs,
      leafRanges: this.leafRanges,
      leafNodes: this.leafNodes,
      leafSplits: this.leafSplits,
      leafMasks: this.leafMasks,
      leafHalves: this.leafHalves,
      leafOf: this.leafOf,
      maxima: this.maxima,
    });
  }

  /** Length of a node histogram this round: one packed sum per bin when quantised, else two. */
  histLength(): number {
    return this.quantized ? this.o.totalBins : 2 * this.o.totalBins;
  }

  /** Histogram of rows `idx[start..end)` into `out` (length `histLength()`). */
  histogram(start: number, end: number, out: Float64Array): void {
    const mid = start + ((end - start) >> 1);
    const helper = this.helper;
    const half = this.half;
    // The float kernel writes a node histogram's length; the packed one needs two copies' room.
    const own = this.quantized ? this.own : out;
    if (helper && end - start >= PARALLEL_MIN_ROWS) {
      helper.set(P1, this.quantized ? 1 : 0);
      helper.start(CMD_HIST, mid, end);
      this.histogramOf(start, mid, own);
      helper.join();
    } else {
      this.histogramOf(start, mid, own);
      this.histogramOf(mid, end, half);
    }
    const len = this.histLength();
    for (let k = 0; k < len; k++) out[k] = (own[k] as number) + (half[k] as number);
  }

  /** One half's histogram on this thread, by this round's kernel. */
  private histogramOf(a: number, b: number, into: Float64Array): void {
    const o = this.o;
    if (this.quantized) this.packedKernel(o.bins, o.quantizedGh, this.idx, a, b, into, this.packScale);
    else this.kernel(o.bins, o.gh, this.idx, a, b, into);
  }

  /**
   * A node histogram as gradient and hessian sums (`[2*bin]`, `[2*bin+1]`): itself when exact; a
   * packed one is split into its integer sums and scaled back (valid until the next call).
   */
  gradHess(stored: Float64Array): Float64Array {
    if (!this.quantized) return stored;
    const out = this.unpacked;
    const scale = this.packScale;
    const gs = this.gScale;
    const hs = this.hScale;
    for (let k = 0; k < stored.length; k++) {
      const s = stored[k] as number;
      const qg = Math.floor(s / scale);
      out[2 * k] = qg * gs;
      out[2 * k + 1] = (s - qg * scale) * hs;
    }
    return out;
  }

  /**
   * Exact gradient and hessian sums of each range's rows (see leafSumsRange for `splits` and
   * `masks`): range j is `idx[ranges[2j] .. ranges[2j+1])`, left leaf `nodes[j]`; its left sums go to
   * `out[4j]`, `out[4j+1]`, its right ones (when it holds a split) to `out[4j+2]`, `out[4j+3]`, and
   * each row's leaf to `leafOf` (see deferTree). The helper thread sums the second half of every range.
   */
  leafSums(
    ranges: Int32Array,
    nodes: Int32Array,
    splits: Int32Array,
    masks: Uint8Array,
    count: number,
    out: Float64Array,
  ): void {
    const o = this.o;
    const halves = this.leafHalves;
    this.leafRanges.set(ranges.subarray(0, 2 * count));
    this.leafNodes.set(nodes.subarray(0, count));
    this.leafSplits.set(splits.subarray(0, 3 * count));
    this.leafMasks.set(masks.subarray(0, 256 * count));
    const helper = this.helper;
    const run = (half: number): void =>
      leafSumsRange(
        o.gh,
        this.idx,
        this.leafRanges,
        this.leafNodes,
        count,
        half,
        halves,
        this.leafOf,
        o.cols,
        o.nRows,
        this.leafSplits,
        this.leafMasks,
      );
    if (helper) {
      helper.start(CMD_LEAF_SUMS, 0, count);
      run(0);
      helper.join();
    } else {
      run(0);
      run(1);
    }
    for (let j = 0; j < count; j++) {
      for (let k = 0; k < 4; k++) out[4 * j + k] = (halves[8 * j + k] as number) + (halves[8 * j + 4 + k] as number);
    }
  }

  /**
   * Quantises the gradients of rows idx[0..m) for this round when there are enough rows (see
   * QUANTIZE_MIN_ROWS); sets `quantized`. Levels q are chosen so that m·q < 2^25: every packed
   * histogram sum then stays an exact integer in a double.
   */
  quantize(m: number, key: number): void {
    const o = this.o;
    const q = Math.min(QUANTIZE_MAX_LEVELS, Math.floor(2 ** 25 / Math.max(1, m)));
    this.quantized = m >= QUANTIZE_MIN_ROWS && q >= QUANTIZE_MIN_LEVELS;
    if (!this.quantized) return;
    let maxG = Math.max(this.maxima[0] as number, this.maxima[2] as number);
    let maxH = Math.max(this.maxima[1] as number, this.maxima[3] as number);
    if (!this.maximaCurrent) {
      maxG = 0;
      maxH = 0;
      for (let i = 0; i < m; i++) {
        const r = this.idx[i] as number;
        const g = Math.abs(o.gh[2 * r] as number);
        const h = o.gh[2 * r + 1] as number;
        if (g > maxG) maxG = g;
        if (h > maxH) maxH = h;
      }
    }
    const gInv = maxG > 0 ? q / maxG : 0;
    const hInv = maxH > 0 ? q / maxH : 0;
    this.gScale = maxG / q;
    this.hScale = maxH / q;
    this.packScale = 2 ** Math.ceil(Math.log2(m * q + 1));
    // The helper reads the scale for its histogram halves too.
    this.qArgs[0] = gInv;
    this.qArgs[1] = hInv;
    this.qArgs[2] = this.packScale;
    const helper = this.helper;
    if (helper && m >= PARALLEL_MIN_ROWS) {
      const mid = m >> 1;
      helper.set(P2, key | 0);
      helper.start(CMD_QUANTIZE, mid, m);
      quantizeRange(o.gh, this.idx, 0, mid, gInv, hInv, key | 0, o.quantizedGh);
      helper.join();
      return;
    }
    quantizeRange(o.gh, this.idx, 0, m, gInv, hInv, key | 0, o.quantizedGh);
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
    const helper = this.helper;
    if (helper && end - start >= PARALLEL_MIN_ROWS) {
      const mid = start + ((end - start) >> 1);
      helper.set(P1, base);
      helper.set(P2, (lo << 16) | tb);
      helper.set(P3, cat);
      helper.start(CMD_PARTITION, mid, end);
      const nl1 = partitionRange(o.cols, base, this.idx, this.scratch, start, mid, cat, lo, tb, mask);
      helper.join();
      const nl2 = helper.result();
      // [L1 | (R1) | L2 | R2], R1 in scratch and R2 already at the end (the helper put it there)
      // → [L1 | L2 | R1 | R2].
      const slots = o.rowSlots;
      slots.copyWithin(start + nl1, mid, mid + nl2);
      slots.copyWithin(start + nl1 + nl2, o.nRows + start, o.nRows + mid - nl1);
      return start + nl1 + nl2;
    }
    const nl = partitionRange(o.cols, base, this.idx, this.scratch, start, end, cat, lo, tb, mask);
    o.rowSlots.copyWithin(start + nl, o.nRows + start, o.nRows + end - nl);
    return start + nl;
  }

  /** Gradients for rows idx[0..m). */
  gradients(binary: boolean, m: number): void {
    const o = this.o;
    const helper = this.helper;
    const b = binary ? 1 : 0;
    this.maxima.fill(0);
    this.maximaCurrent = true;
    if (helper && m >= PARALLEL_MIN_ROWS) {
      const mid = m >> 1;
      helper.set(P1, b);
      helper.start(CMD_GRADIENT, mid, m);
      gradientRange(b, o.margin, o.y, this.idx, 0, mid, o.gh, this.maxima, 0);
      helper.join();
      return;
    }
    gradientRange(b, o.margin, o.y, this.idx, 0, m, o.gh, this.maxima, 0);
  }

  /** The gradients changed after the last gradient pass (rows weighted): quantize rescans them. */
  gradientsChanged(): void {
    this.maximaCurrent = false;
  }

  /**
   * Samples the rows for one round (`key` from the seed and round, `cut` = rate × 2^32) and
   * computes the kept rows' gradients; kept rows end up in idx[0..m), ascending. Returns m.
   * A tree left by deferTree goes into the margins first, in the same pass.
   */
  sampleAndGradients(binary: boolean, key: number, cut: number): number {
    const o = this.o;
    const helper = this.helper;
    const b = binary ? 1 : 0;
    const n = o.nRows;
    const pending = this.pendingTree;
    const fresh = pending === 1 && this.expCurrent ? 0 : 1;
    const tree = {
      bins: o.bins,
      nFeatures: o.nFeatures,
      nodes: this.treeNodes,
      values: this.treeValues,
      lut: this.treeLut,
      leafOf: this.leafOf,
      expValues: this.treeExpValues,
      expNegMargin: this.expNegMargin,
      dropped: this.dropped,
      droppedEnd: this.droppedEnd,
    };
    this.pendingTree = 0;
    this.expCurrent = binary;
    this.maxima.fill(0);
    this.maximaCurrent = true;
    const args = [b, o.margin, o.y, o.gh, o.inSample, this.idx] as const;
    const rest = [pending, tree, fresh, this.maxima, 0] as const;
    if (helper && n >= PARALLEL_MIN_ROWS) {
      const mid = n >> 1;
      helper.set(P1, b);
      helper.set(P2, key | 0);
      helper.set(P3, cut | 0);
      helper.set(P4, pending | (fresh << 1));
      helper.start(CMD_SAMPLE, mid, n);
      const m1 = sampleGradientRange(...args, 0, mid, key, cut, ...rest);
      helper.join();
      const m2 = helper.result();
      this.idx.copyWithin(m1, mid, mid + m2);
      return m1 + m2;
    }
    return sampleGradientRange(...args, 0, n, key, cut, ...rest);
  }

  /** Packs `tree` into the shared node arrays the row kernels walk (see packedTreeLeaf). */
  private packTree(tree: BinTree): void {
    const nodes = this.treeNodes;
    const lut = this.treeLut;
    const count = tree.feature.length;
    for (let n = 0; n < count; n++) {
      const w = n * PACKED_NODE_WORDS;
      const f = tree.feature[n] as number;
      nodes[w] = f;
      nodes[w + 1] = tree.left[n] as number;
      nodes[w + 2] = tree.right[n] as number;
      this.treeValues[n] = tree.value[n] as number;
      this.treeExpValues[n] = Math.exp(-(tree.value[n] as number));
      if (f < 0) continue;
      const at = n * 256;
      const cl = tree.catLeft[n];
      if (cl) {
        // Bins past the feature's last one never occur; missing (bin 0) goes right.
        lut.fill(0, at, at + 256);
        lut.set(cl, at);
        continue;
      }
      // Numeric: bins 1..binThreshold go left, missing follows defaultLeft.
      const tb = tree.binThreshold[n] as number;
      lut.fill(1, at, at + tb + 1);
      lut.fill(0, at + tb + 1, at + 256);
      lut[at] = tree.defaultLeft[n] as number;
    }
  }

  /**
   * Leaves `tree`'s leaf values for the next sampleAndGradients to add to the margins, in its pass
   * over the rows. Only after a quantised round with row sampling: leafSums has then recorded the
   * leaf of every sampled row, and the next round samples again.
   */
  deferTree(tree: BinTree): void {
    this.packTree(tree);
    this.pendingTree = 1;
  }

  /**
   * Adds `tree`'s leaf values to the margins: `insideSample` updates the sampled rows (from the
   * partition's leaf ranges) on this thread while the helper thread walks the tree for most of the
   * rest; sampled and unsampled rows are disjoint, so the order does not change any margin.
   */
  addTree(tree: BinTree, insideSample: () => void): void {
    const o = this.o;
    this.packTree(tree);
    this.expCurrent = false;
    const nodes = this.treeNodes;
    const helper = this.helper;
    if (helper && o.nRows >= PARALLEL_MIN_ROWS) {
      // This thread also updates the sampled rows, which costs about half as much as walking the
      // tree for the same number of rows, so it takes the smaller share of the walk.
      const split = Math.floor(o.nRows * 0.3);
      helper.start(CMD_OUTSIDE, split, o.nRows);
      insideSample();
      addTreeOutsideSample(o.bins, o.nFeatures, nodes, this.treeValues, this.treeLut, o.inSample, o.margin, 0, split);
      helper.join();
      return;
    }
    insideSample();
    addTreeOutsideSample(o.bins, o.nFeatures, nodes, this.treeValues, this.treeLut, o.inSample, o.margin, 0, o.nRows);
  }

  async close(): Promise<void> {
    await this.helper?.close();
  }
}
