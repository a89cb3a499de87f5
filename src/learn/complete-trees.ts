import { MISSING_AS_ZERO, MISSING_NAN, nextUp, validateEnsemble, type TreeEnsemble } from "./tree-ensemble.js";

/**
 * A shallow ensemble as complete binary trees, scored without branches on the data and without
 * generated code.
 *
 * Every tree is padded to the ensemble's depth D: `2^D − 1` split nodes in heap order (the
 * children of node k are 2k+1 and 2k+2) and `2^D` leaves. A row walks exactly D levels with
 * `k = 2k + 1 + (v >= cut)`, so the CPU never mispredicts a data-dependent branch and overlaps
 * the walks of consecutive rows. A leaf shallower than D becomes padding splits that always go
 * left (cut NaN: every comparison with NaN is false) down to the leftmost leaf slot.
 *
 * Missing values cost no test either: a block of rows is first copied column-major into two
 * copies of each feature, one with NaN → −∞ (column f) and one with NaN → +∞ (column nf + f). A
 * split whose missing value goes left reads the first (−∞ ≥ cut is false: left), one whose missing
 * value goes right reads the second (+∞ ≥ cut is true: right). Other values are copied exactly.
 * A model that scores missing values as 0 (LightGBM `None`) gets a third copy with NaN → 0.
 *
 * Only ensembles this represents exactly are built: numeric splits, missing values as NaN or 0, depth
 * ≤ MAX_COMPLETE_DEPTH, and cuts that are not −∞ or NaN. Anything else is scored by the generated
 * code of `compileEnsemble`.
 */
export interface CompleteTrees {
  readonly kind: "complete-trees";
  readonly nFeatures: number;
  readonly nTrees: number;
  /** D: levels every row walks per tree. */
  readonly depth: number;
  /** Rows per block: the stride of the column-major block buffer. */
  readonly block: number;
  /** Copies of each feature in the block buffer: 2 (NaN → −∞, +∞), or 3 with NaN → 0. */
  readonly copies: number;
  /** Per split node: offset of its column in the block buffer, `column × block`. */
  readonly columnOffset: Int32Array;
  /** Per split node: a row goes right when its value ≥ cut. */
  readonly cut: Float64Array;
  /** `2^D` leaf values per tree. */
  readonly leaf: Float64Array;
  /** Margin every row starts from (before the first tree). */
  readonly baseScore: number;
  /** 1 when the running sum is rounded to float32 after each tree (XGBoost), else 0. */
  readonly sumFloat32: number;
  /** 0 = identity, 1 = sigmoid. */
  readonly link: number;
  readonly sigmoidScale: number;
}

/** Deeper trees would pad to more than 255 splits per tree; most of them wasted on real, unbalanced trees. */
export const MAX_COMPLETE_DEPTH = 8;

/**
 * Rows per block. Each tree's nodes are read once per block instead of once per row; the block's
 * two column-major copies stay in L1/L2 (2 × nFeatures × 256 × 8 bytes = 80 KiB for 20 features).
 */
const BLOCK_ROWS = 256;

/** Depth of each tree (a lone leaf has depth 0), or -1 when a tree is deeper than `limit`. */
function treeDepths(e: TreeEnsemble, limit: number): number {
  let max = 0;
  const nTrees = e.treeOffsets.length - 1;
  for (let t = 0; t < nTrees; t++) {
    const start = e.treeOffsets[t] ?? 0;
    const end = e.treeOffsets[t + 1] ?? 0;
    const depth = new Int32Array(end - start);
    // Children follow their parent (validateEnsemble), so one forward pass sets every depth.
    for (let i = 0; i < end - start; i++) {
      const g = start + i;
      if ((e.feature[g] ?? -1) === -1) continue;
      const d = (depth[i] ?? 0) + 1;
      if (d > limit) return -1;
      if (d > max) max = d;
      depth[e.left[g] ?? 0] = d;
      depth[e.right[g] ?? 0] = d;
    }
  }
  return max;
}

/** Why an ensemble has no complete-tree form, or undefined when it has one. */
export function completeTreesUnsupported(e: TreeEnsemble): string | undefined {
  if (e.categorical !== undefined && e.categorical.nodeSet.some((s) => s >= 0)) return "categorical splits";
  if (e.missing !== undefined && e.missing.some((m) => m !== MISSING_NAN && m !== MISSING_AS_ZERO)) {
    return "missing values within ±1e-35 of zero (LightGBM zero_as_missing)";
  }
  if (treeDepths(e, MAX_COMPLETE_DEPTH) < 0) return `trees deeper than ${MAX_COMPLETE_DEPTH}`;
  for (let g = 0; g < e.feature.length; g++) {
    if ((e.feature[g] ?? -1) === -1) continue;
    const c = splitCut(e, g);
    if (Number.isNaN(c) || c === -Infinity) return `threshold ${String(e.threshold[g])} at node ${g}`;
  }
  return undefined;
}

/** The value from which a row goes right at split g: the threshold for `lt`, the next double for `le`. */
function splitCut(e: TreeEnsemble, g: number): number {
  const t = e.threshold[g] ?? NaN;
  return e.compare === "le" ? (t === Infinity ? NaN : nextUp(t)) : t;
}

/** Validates the ensemble and lays it out as complete trees; undefined when it has no exact complete-tree form. */
export function buildCompleteTrees(e: TreeEnsemble): CompleteTrees | undefined {
  validateEnsemble(e);
  if (completeTreesUnsupported(e) !== undefined) return undefined;
  const depth = treeDepths(e, MAX_COMPLETE_DEPTH);
  const nTrees = e.treeOffsets.length - 1;
  const nSplits = (1 << depth) - 1;
  const nLeaves = 1 << depth;
  const nf = e.nFeatures;
  const columnOffset = new Int32Array(nTrees * nSplits);
  const cut = new Float64Array(nTrees * nSplits).fill(NaN);
  const leaf = new Float64Array(nTrees * nLeaves);
  const f32 = e.sumPrecision === "float32";
  // Depth-first from each root: (source node, heap slot, level).
  const stack: number[] = [];
  for (let t = 0; t < nTrees; t++) {
    const start = e.treeOffsets[t] ?? 0;
    stack.push(0, 0, 0);
    while (stack.length > 0) {
      const level = stack.pop() as number;
      const slot = stack.pop() as number;
      const local = stack.pop() as number;
      const g = start + local;
      const f = e.feature[g] ?? -1;
      if (f === -1) {
        // Padding splits below this slot all go left: its leftmost leaf at depth D.
        const leftmost = (slot + 1) * (1 << (depth - level)) - 1;
        const v = e.value[g] ?? 0;
        leaf[t * nLeaves + leftmost - nSplits] = f32 ? Math.fround(v) : v;
        continue;
      }
      const column =
        (e.missing?.[g] ?? MISSING_NAN) === MISSING_AS_ZERO ? 2 * nf + f : (e.defaultLeft[g] ?? 0) === 1 ? f : nf + f;
      columnOffset[t * nSplits + slot] = column * BLOCK_ROWS;
      cut[t * nSplits + slot] = splitCut(e, g);
      stack.push(e.left[g] ?? 0, 2 * slot + 1, level + 1, e.right[g] ?? 0, 2 * slot + 2, level + 1);
    }
  }
  return {
    kind: "complete-trees",
    nFeatures: nf,
    nTrees,
    depth,
    block: BLOCK_ROWS,
    copies: e.missing?.some((m) => m === MISSING_AS_ZERO) === true ? 3 : 2,
    columnOffset,
    cut,
    leaf,
    baseScore: f32 ? Math.fround(e.baseScore) : e.baseScore,
    sumFloat32: f32 ? 1 : 0,
    link: e.link === "sigmoid" ? 1 : 0,
    sigmoidScale: e.sigmoidScale ?? 1,
  };
}

/**
 * Raw margins for rows `[rowStart, rowEnd)` of a row-major matrix into `out[rowStart..rowEnd)`,
 * block by block, tree by tree (each row adds its trees in model order, as XGBoost does).
 * Self-contained (no closure, no imports): worker threads run this very function's source.
 */
export function completeTreesMarginsKernel(
  ct: CompleteTrees,
  x: Float32Array | Float64Array,
  rowStart: number,
  rowEnd: number,
  out: Float64Array,
): void {
  const nf = ct.nFeatures;
  const B = ct.block;
  const D = ct.depth;
  const nSplits = (1 << D) - 1;
  const nLeaves = 1 << D;
  const col = ct.columnOffset;
  const cut = ct.cut;
  const leaf = ct.leaf;
  const nTrees = ct.nTrees;
  const xb = new Float64Array(ct.copies * nf * B);
  const acc = new Float64Array(B);
  // XGBoost rounds the running sum to float32 after every tree.
  const add = ct.sumFloat32 === 1 ? Math.fround : (v: number): number => v;
  const hi = nf * B;
  const zero = ct.copies === 3 ? 2 * nf * B : -1;
  for (let b0 = rowStart; b0 < rowEnd; b0 += B) {
    const n = b0 + B < rowEnd ? B : rowEnd - b0;
    const n8 = n & ~7;
    for (let i = 0; i < n; i++) {
      const src = (b0 + i) * nf;
      for (let f = 0; f < nf; f++) {
        const v = x[src + f] as number;
        const nan = v !== v;
        xb[f * B + i] = nan ? -Infinity : v;
        xb[hi + f * B + i] = nan ? Infinity : v;
        if (zero >= 0) xb[zero + f * B + i] = nan ? 0 : v;
      }
      acc[i] = ct.baseScore;
    }
    for (let t = 0; t < nTrees; t++) {
      const s0 = t * nSplits;
      const l0 = t * nLeaves - nSplits;
      // Eight rows walk the tree together: eight independent chains of loads and compares that
      // the CPU overlaps (one row at a time waits on each level's loads).
      for (let i = 0; i < n8; i += 8) {
        let k0 = 0,
          k1 = 0,
          k2 = 0,
          k3 = 0,
          k4 = 0,
          k5 = 0,
          k6 = 0,
          k7 = 0;
        for (let d = 0; d < D; d++) {
          const g0 = s0 + k0,
            g1 = s0 + k1,
            g2 = s0 + k2,
            g3 = s0 + k3,
            g4 = s0 + k4,
            g5 = s0 + k5,
            g6 = s0 + k6,
            g7 = s0 + k7;
          k0 = 2 * k0 + 1 + +((xb[(col[g0] as number) + i + 0] as number) >= (cut[g0] as number));
          k1 = 2 * k1 + 1 + +((xb[(col[g1] as number) + i + 1] as number) >= (cut[g1] as number));
          k2 = 2 * k2 + 1 + +((xb[(col[g2] as number) + i + 2] as number) >= (cut[g2] as number));
          k3 = 2 * k3 + 1 + +((xb[(col[g3] as number) + i + 3] as number) >= (cut[g3] as number));
          k4 = 2 * k4 + 1 + +((xb[(col[g4] as number) + i + 4] as number) >= (cut[g4] as number));
          k5 = 2 * k5 + 1 + +((xb[(col[g5] as number) + i + 5] as number) >= (cut[g5] as number));
          k6 = 2 * k6 + 1 + +((xb[(col[g6] as number) + i + 6] as number) >= (cut[g6] as number));
          k7 = 2 * k7 + 1 + +((xb[(col[g7] as number) + i + 7] as number) >= (cut[g7] as number));
        }
        acc[i + 0] = add((acc[i + 0] as number) + (leaf[l0 + k0] as number));
        acc[i + 1] = add((acc[i + 1] as number) + (leaf[l0 + k1] as number));
        acc[i + 2] = add((acc[i + 2] as number) + (leaf[l0 + k2] as number));
        acc[i + 3] = add((acc[i + 3] as number) + (leaf[l0 + k3] as number));
        acc[i + 4] = add((acc[i + 4] as number) + (leaf[l0 + k4] as number));
        acc[i + 5] = add((acc[i + 5] as number) + (leaf[l0 + k5] as number));
        acc[i + 6] = add((acc[i + 6] as number) + (leaf[l0 + k6] as number));
        acc[i + 7] = add((acc[i + 7] as number) + (leaf[l0 + k7] as number));
      }
      for (let i = n8; i < n; i++) {
        let k = 0;
        for (let d = 0; d < D; d++) {
          const g = s0 + k;
          k = 2 * k + 1 + +((xb[(col[g] as number) + i] as number) >= (cut[g] as number));
        }
        acc[i] = add((acc[i] as number) + (leaf[l0 + k] as number));
      }
    }
    for (let i = 0; i < n; i++) out[b0 + i] = acc[i] as number;
  }
}
