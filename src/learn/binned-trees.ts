import type { CompleteTrees } from "./complete-trees.js";
import {
  LEAF_OFFSET,
  SPLAT_OFFSET,
  binFunction,
  callAll,
  countAtMost,
  treeFunction,
  type BinnedLayout,
} from "./binned-trees-wasm.js";
import { encodeModule, type WasmFunction } from "./wasm-encoder.js";

/**
 * Complete trees over binned features, scored 16 rows at a time by WebAssembly SIMD code generated
 * for the model.
 *
 * Binning: each feature's distinct cut points, sorted, turn a value into its bin, the number of
 * cuts ≤ value (0…m). A row goes right at a split with the feature's j-th cut exactly when its bin
 * is ≥ j, so after one binary search per feature and row every split is a compare of small
 * integers: one `i8x16.gt_s` for 16 rows. Missing values get the bins of −∞ and +∞ (and of 0 for
 * LightGBM's missing-as-zero), in separate copies of the feature as the complete trees read them.
 *
 * Per tree the generated code compares all its splits (padding splits fold away), then picks each
 * level's decision with a multiplexer of `bitselect`s driven by the levels above, so the leaf index
 * is built without branches or gathers. The 16 leaf values come from byte-plane tables with
 * `i8x16.swizzle` and a byte transpose, and are added to float32 accumulators in tree order, which
 * is XGBoost's float32 running sum exactly. Cut indices and memory offsets are constants in the
 * code; leaf tables and the splatted cut indices sit in the module's memory.
 *
 * Built only when exact: float32 sums (XGBoost), depth 1…MAX_BINNED_DEPTH, at most 255 distinct
 * cuts per feature. Even one row is faster this way than walking the complete trees (no block
 * buffers to allocate; see docs/models.md).
 */
export interface BinnedTrees {
  readonly kind: "binned-trees";
  readonly nFeatures: number;
  readonly nTrees: number;
  readonly depth: number;
  /** Copies of each feature in a group's bins: 2, or 3 with missing-as-zero. */
  readonly copies: number;
  /** Per feature, its sorted distinct cuts: `cuts[cutOffsets[f] .. cutOffsets[f + 1])`. */
  readonly cutOffsets: Int32Array;
  readonly cuts: Float64Array;
  /** Per feature, the bin of 0 (the missing-as-zero copy). */
  readonly zeroBin: Uint8Array;
  /**
   * The module: exported `memory`, `bin` (float32 rows → bins) and `trees` (adds every tree to a
   * block's accumulators, calling one function per tree).
   */
  readonly wasm: Uint8Array;
  /** Bytes written at memory offset 0 before scoring: splatted cut indices and leaf tables. */
  readonly constants: Uint8Array;
  /** Memory offsets of a block's float32 rows, its bins and its float32 accumulators. */
  readonly xOffset: number;
  readonly binsOffset: number;
  readonly accOffset: number;
  /** Bytes per 16-row group of bins. */
  readonly groupStride: number;
  /** Rows per block (a multiple of 16). */
  readonly block: number;
  readonly baseScore: number;
  readonly link: number;
  readonly sigmoidScale: number;
}

/** Deeper trees need a multiplexer of 2^D − D − 1 selects per tree; depth 6 is already 57. */
export const MAX_BINNED_DEPTH = 6;
/**
 * Trees per generated function. One was fastest measured (against 2, 4, 8 and 16; 8 per function
 * took 1.35× the CPU time of 1 on the loan GBM).
 */
const TREES_PER_FUNCTION = 1;
/** Rows per block: 64 groups of 16 (the block's rows and bins, 96 KiB for 16 features, stay in L2). */
const BLOCK_ROWS = 1024;

/** Why complete trees have no binned form, or undefined when they have one. */
export function binnedTreesUnsupported(ct: CompleteTrees): string | undefined {
  if (ct.sumFloat32 !== 1) return "a float64 sum of leaves";
  if (ct.depth < 1 || ct.depth > MAX_BINNED_DEPTH) return `depth ${ct.depth} outside 1…${MAX_BINNED_DEPTH}`;
  const cuts = featureCuts(ct);
  const widest = cuts.reduce((m, c) => Math.max(m, c.length), 0);
  if (widest > 255) return `${widest} distinct cuts on one feature (at most 255)`;
  return undefined;
}

/** Per feature, the sorted distinct cuts of its splits. */
function featureCuts(ct: CompleteTrees): number[][] {
  const sets = Array.from({ length: ct.nFeatures }, () => new Set<number>());
  for (let s = 0; s < ct.cut.length; s++) {
    const c = ct.cut[s] as number;
    if (Number.isNaN(c)) continue;
    (sets[((ct.columnOffset[s] as number) / ct.block) % ct.nFeatures] as Set<number>).add(c === 0 ? 0 : c);
  }
  return sets.map((s) => [...s].sort((a, b) => a - b));
}

/** The smallest float32 ≥ c: for a float32 value v, `v ≥ c` exactly when `v ≥ f32Ceil(c)`. */
export function f32Ceil(c: number): number {
  const f = Math.fround(c);
  if (f >= c || Number.isNaN(c)) return f;
  if (f === 0) return 2 ** -149;
  const bits = new Float32Array([f]);
  const u = new Int32Array(bits.buffer);
  u[0] = (u[0] as number) + (f > 0 ? 1 : -1);
  return bits[0] as number;
}

/** Lays complete trees out for binned SIMD scoring; undefined when that is not exact for them. */
export function buildBinnedTrees(ct: CompleteTrees): BinnedTrees | undefined {
  if (binnedTreesUnsupported(ct) !== undefined) return undefined;
  const nf = ct.nFeatures;
  const cuts = featureCuts(ct);
  const cutOffsets = new Int32Array(nf + 1);
  cuts.forEach((c, f) => (cutOffsets[f + 1] = (cutOffsets[f] as number) + c.length));
  const tables = Math.max(1, (1 << ct.depth) >> 4);
  const cutsOffset = LEAF_OFFSET + ct.nTrees * 4 * tables * 16;
  const nCuts = cutOffsets[nf] as number;
  const constants = new Uint8Array(cutsOffset + nCuts * 4);
  for (let k = 0; k < 256; k++) constants.fill(k ^ 0x80, SPLAT_OFFSET + k * 16, SPLAT_OFFSET + k * 16 + 16);
  const leafBits = new Uint8Array(Float32Array.from(ct.leaf).buffer);
  const nLeaves = 1 << ct.depth;
  for (let t = 0; t < ct.nTrees; t++) {
    for (let l = 0; l < nLeaves; l++) {
      for (let p = 0; p < 4; p++) {
        const at = LEAF_OFFSET + ((t * 4 + p) * tables + (l >> 4)) * 16 + (l & 15);
        constants[at] = leafBits[(t * nLeaves + l) * 4 + p] as number;
      }
    }
  }
  // Float32 rows are binned against the cuts rounded up to float32 (same bins, see f32Ceil).
  new Float32Array(constants.buffer, cutsOffset, nCuts).set(cuts.flat().map(f32Ceil));
  const zeroBin = Uint8Array.from(cuts, (c) => countAtMost(c, 0));
  const layout: BinnedLayout = {
    tables,
    groupStride: ct.copies * nf * 16,
    cutAt: cuts.map((_, f) => cutsOffset + (cutOffsets[f] as number) * 4),
    cutCount: cuts.map((c) => c.length),
    zeroBin,
  };
  const xOffset = Math.ceil(constants.length / 16) * 16;
  const binsOffset = xOffset + BLOCK_ROWS * nf * 4;
  const accOffset = binsOffset + (BLOCK_ROWS / 16) * layout.groupStride;
  const pages = Math.ceil((accOffset + BLOCK_ROWS * 4) / 65536);
  const functions: WasmFunction[] = [binFunction(nf, ct.copies, layout)];
  for (let t0 = 0; t0 < ct.nTrees; t0 += TREES_PER_FUNCTION) {
    const t1 = Math.min(ct.nTrees, t0 + TREES_PER_FUNCTION);
    functions.push(treeFunction(ct, cuts, layout, t0, t1, `t${functions.length - 1}`));
  }
  // One call from JavaScript per block; the per-tree calls stay inside the module.
  functions.push(callAll("trees", 1, functions.length - 1));
  return {
    kind: "binned-trees",
    nFeatures: nf,
    nTrees: ct.nTrees,
    depth: ct.depth,
    copies: ct.copies,
    cutOffsets,
    cuts: Float64Array.from(cuts.flat()),
    zeroBin,
    wasm: encodeModule(pages, functions),
    constants,
    xOffset,
    binsOffset,
    accOffset,
    groupStride: layout.groupStride,
    block: BLOCK_ROWS,
    baseScore: ct.baseScore,
    link: ct.link,
    sigmoidScale: ct.sigmoidScale,
  };
}

/** The WebAssembly JS API as the kernel uses it. */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** Per thread, the instantiated module of a BinnedTrees (a non-enumerable property: never posted). */
interface BinnedRuntime {
  readonly bytes: Uint8Array;
  readonly acc: Float32Array;
  readonly x: Float32Array;
  readonly bin: (x: number, nRows: number, bins: number) => void;
  readonly trees: (bins: number, acc: number, nGroups: number) => void;
}

/**
 * Raw margins for rows `[rowStart, rowEnd)` of a row-major matrix into `out[rowStart..rowEnd)`.
 * Self-contained (no closure, no imports): worker threads run this very function's source.
 */
export function binnedTreesMarginsKernel(
  bt: BinnedTrees,
  x: Float32Array | Float64Array,
  rowStart: number,
  rowEnd: number,
  out: Float64Array,
): void {
  let rt: BinnedRuntime | undefined = (bt as unknown as { runtime?: BinnedRuntime }).runtime;
  if (rt === undefined) {
    // The compile options' libraries do not declare WebAssembly; this is the part used here.
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const inst = new wasm.Instance(new wasm.Module(bt.wasm), {});
    const memory = inst.exports.memory as { buffer: ArrayBuffer };
    rt = {
      bytes: new Uint8Array(memory.buffer),
      acc: new Float32Array(memory.buffer, bt.accOffset, bt.block),
      x: new Float32Array(memory.buffer, bt.xOffset, bt.block * bt.nFeatures),
      bin: inst.exports.bin as BinnedRuntime["bin"],
      trees: inst.exports.trees as BinnedRuntime["trees"],
    };
    rt.bytes.set(bt.constants, 0);
    Object.defineProperty(bt, "runtime", { value: rt, enumerable: false });
  }
  const { bytes, acc } = rt;
  const f32 = x instanceof Float32Array;
  const nf = bt.nFeatures;
  const cuts = bt.cuts;
  const offs = bt.cutOffsets;
  const stride = bt.groupStride;
  const hi = nf * 16;
  const zero = bt.copies === 3 ? 2 * nf * 16 : -1;
  for (let b0 = rowStart; b0 < rowEnd; b0 += bt.block) {
    const n = b0 + bt.block < rowEnd ? bt.block : rowEnd - b0;
    // Float32 rows are binned by the module; float64 ones here (float64 cuts).
    if (f32) rt.x.set(x.subarray(b0 * nf, (b0 + n) * nf));
    if (f32) rt.bin(bt.xOffset, n, bt.binsOffset);
    for (let i = 0; i < (f32 ? 0 : n); i++) {
      const base = bt.binsOffset + (i >> 4) * stride + (i & 15);
      const src = (b0 + i) * nf;
      for (let f = 0; f < nf; f++) {
        const v = x[src + f] as number;
        const c0 = offs[f] as number;
        const c1 = offs[f + 1] as number;
        const at = base + f * 16;
        if (v !== v) {
          bytes[at] = 0x80;
          bytes[at + hi] = (c1 - c0) ^ 0x80;
          if (zero >= 0) bytes[at + zero] = (bt.zeroBin[f] as number) ^ 0x80;
          continue;
        }
        // Bin = number of cuts ≤ v, by binary search.
        let lo = c0;
        let len = c1 - c0;
        while (len > 0) {
          const half = len >> 1;
          if ((cuts[lo + half] as number) <= v) {
            lo += half + 1;
            len -= half + 1;
          } else len = half;
        }
        const bin = (lo - c0) ^ 0x80;
        bytes[at] = bin;
        bytes[at + hi] = bin;
        if (zero >= 0) bytes[at + zero] = bin;
      }
    }
    const nGroups = (n + 15) >> 4;
    acc.fill(bt.baseScore, 0, nGroups * 16);
    rt.trees(bt.binsOffset, bt.accOffset, nGroups);
    for (let i = 0; i < n; i++) out[b0 + i] = acc[i] as number;
  }
}
