import type { CompleteTrees } from "./complete-trees.js";
import { CodeWriter, F32, I32, OP, SIMD, V128, uleb, type WasmFunction } from "./wasm-encoder.js";

/**
 * Code generation for binned trees (binned-trees.ts): the per-model WebAssembly functions that bin
 * a block of rows and add a slice of the trees to the block's accumulators.
 */

/** Memory offset of the splat table: vector j − 1 holds the signed-biased byte cut index j is compared against. */
export const SPLAT_OFFSET = 0;
/** Memory offset of the leaf tables: per tree, 4 byte planes × `tables` × 16 leaves. */
export const LEAF_OFFSET = 256 * 16;

/** Where the generated code finds a model's constants and a block's rows. */
export interface BinnedLayout {
  /** Leaf tables of 16 per byte plane: 2^D / 16, at least 1. */
  readonly tables: number;
  /** Bytes per 16-row group of bins. */
  readonly groupStride: number;
  /** Per feature, byte offset of its float32 cuts, and their count. */
  readonly cutAt: readonly number[];
  readonly cutCount: readonly number[];
  /** Per feature, the bin of 0 (missing-as-zero copy). */
  readonly zeroBin: ArrayLike<number>;
}

/** A split's 16-row decision as the multiplexer sees it: a compare, a select of two, or constant left. */
type Decision =
  null | { readonly slot: number } | { readonly hi: Decision; readonly lo: Decision; readonly bit: number };

/** Locals of a tree function: params, then v128 locals in this order. */
const P_BINS = 0;
const P_ACC = 1;
const P_GROUPS = 2;
const L_ACC = 3; // 4 accumulators
const L_LEVEL = 7; // depth level decisions, then the rest

/**
 * `f(bins, acc, nGroups)`: for each 16-row group, adds trees [t0, t1) to the group's four float32x4
 * accumulators.
 */
export function treeFunction(
  ct: CompleteTrees,
  cuts: readonly (readonly number[])[],
  layout: BinnedLayout,
  t0: number,
  t1: number,
  name: string,
): WasmFunction {
  const { tables, groupStride } = layout;
  const D = ct.depth;
  const nSplits = (1 << D) - 1;
  const lLeaf = L_LEVEL + D; // leaf index, then one per extra leaf table
  const lPlane = lLeaf + tables; // 4 byte planes
  const lPair = lPlane + 4; // 4 interleaved pairs
  const l16 = lPair + 4;
  const nV128 = l16 + 1 - L_ACC;
  const w = new CodeWriter();
  if (tables > 1) w.i32(16).simd(SIMD.i8x16Splat).set(l16);
  w.op(OP.block, 0x40).get(P_GROUPS).op(OP.i32Eqz, OP.brIf, 0).op(OP.loop, 0x40);
  for (let q = 0; q < 4; q++)
    w.get(P_ACC)
      .memory(SIMD.load, q * 16)
      .set(L_ACC + q);
  for (let t = t0; t < t1; t++) {
    const emit = (d: Decision): void => {
      if (d === null) w.v128Const(new Uint8Array(16));
      else if ("slot" in d) {
        const g = t * nSplits + d.slot;
        const col = (ct.columnOffset[g] as number) / ct.block;
        const f = col % ct.nFeatures;
        const j = countAtMost(cuts[f] as number[], ct.cut[g] as number);
        w.get(P_BINS).memory(SIMD.load, col * 16);
        w.i32(0).memory(SIMD.load, SPLAT_OFFSET + (j - 1) * 16);
        w.simd(SIMD.i8x16GtS);
      } else if (d.hi === null) {
        emit(d.lo);
        w.get(L_LEVEL + d.bit).simd(SIMD.andnot);
      } else if (d.lo === null) {
        emit(d.hi);
        w.get(L_LEVEL + d.bit).simd(SIMD.and);
      } else {
        emit(d.hi);
        emit(d.lo);
        w.get(L_LEVEL + d.bit).simd(SIMD.bitselect);
      }
    };
    const mux = (level: number, lo: number, size: number, bit: number): Decision => {
      if (size === 1) {
        const slot = (1 << level) - 1 + lo;
        return Number.isNaN(ct.cut[t * nSplits + slot]) ? null : { slot };
      }
      const hi = mux(level, lo + size / 2, size / 2, bit + 1);
      const low = mux(level, lo, size / 2, bit + 1);
      return hi === null && low === null ? null : { hi, lo: low, bit };
    };
    for (let d = 0; d < D; d++) {
      emit(mux(d, 0, 1 << d, 0));
      w.set(L_LEVEL + d);
    }
    // Leaf index: a decision is all ones (−1) when the row goes right, so L = 2L − decision.
    w.get(L_LEVEL).simd(SIMD.i8x16Neg).set(lLeaf);
    for (let d = 1; d < D; d++) {
      w.get(lLeaf)
        .get(lLeaf)
        .simd(SIMD.i8x16Add)
        .get(L_LEVEL + d)
        .simd(SIMD.i8x16Sub)
        .set(lLeaf);
    }
    // Index into leaf table k is L − 16k (out of range, so 0, for the other tables' leaves).
    for (let k = 1; k < tables; k++)
      w.get(lLeaf + k - 1)
        .get(l16)
        .simd(SIMD.i8x16Sub)
        .set(lLeaf + k);
    for (let p = 0; p < 4; p++) {
      for (let k = 0; k < tables; k++) {
        w.i32(0).memory(SIMD.load, LEAF_OFFSET + ((t * 4 + p) * tables + k) * 16);
        w.get(lLeaf + k).simd(SIMD.swizzle);
        if (k > 0) w.simd(SIMD.or);
      }
      w.set(lPlane + p);
    }
    // Byte planes → float32 lanes: interleave planes 0/1 and 2/3 into 16-bit halves, then halves into words.
    const lo8 = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];
    const hi8 = lo8.map((l) => l + 8);
    const lo16 = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23];
    const hi16 = lo16.map((l) => l + 8);
    w.get(lPlane)
      .get(lPlane + 1)
      .shuffle(lo8)
      .set(lPair);
    w.get(lPlane)
      .get(lPlane + 1)
      .shuffle(hi8)
      .set(lPair + 1);
    w.get(lPlane + 2)
      .get(lPlane + 3)
      .shuffle(lo8)
      .set(lPair + 2);
    w.get(lPlane + 2)
      .get(lPlane + 3)
      .shuffle(hi8)
      .set(lPair + 3);
    for (let q = 0; q < 4; q++) {
      const half = q >> 1;
      w.get(L_ACC + q)
        .get(lPair + half)
        .get(lPair + 2 + half)
        .shuffle(q % 2 === 0 ? lo16 : hi16);
      w.simd(SIMD.f32x4Add).set(L_ACC + q);
    }
  }
  for (let q = 0; q < 4; q++)
    w.get(P_ACC)
      .get(L_ACC + q)
      .memory(SIMD.store, q * 16);
  w.get(P_ACC).i32(64).op(OP.i32Add).set(P_ACC);
  w.get(P_BINS).i32(groupStride).op(OP.i32Add).set(P_BINS);
  w.get(P_GROUPS).i32(1).op(OP.i32Sub).tee(P_GROUPS).op(OP.brIf, 0);
  w.op(OP.end, OP.end);
  return { name, params: [I32, I32, I32], locals: [{ count: nV128, type: V128 }], code: w };
}

/** Number of entries of a sorted list ≤ v. */
export function countAtMost(sorted: readonly number[], v: number): number {
  let n = 0;
  while (n < sorted.length && (sorted[n] as number) <= v) n++;
  return n;
}

/**
 * `bin(x, nRows, bins)`: the bins of `nRows` float32 rows (row-major at `x`) into a block's groups
 * at `bins`. Per feature an unrolled branch-free binary search over its float32 cuts (`select`, no
 * branches); a missing value takes bin 0, m (its cut count) and the bin of 0 in the three copies.
 */
export function binFunction(nf: number, copies: number, layout: BinnedLayout): WasmFunction {
  const [pX, pRows, pBins, lRow, lDst, lAt, lBin, lNan, lV] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const w = new CodeWriter();
  w.op(OP.block, 0x40).get(pRows).op(OP.i32Eqz, OP.brIf, 0).op(OP.loop, 0x40);
  // dst = bins + (row >> 4) × groupStride + (row & 15)
  w.get(pBins).get(lRow).i32(4).op(OP.i32ShrU).i32(layout.groupStride).op(OP.i32Mul, OP.i32Add);
  w.get(lRow).i32(15).op(OP.i32And, OP.i32Add).set(lDst);
  for (let f = 0; f < nf; f++) {
    const m = layout.cutCount[f] as number;
    const base = layout.cutAt[f] as number;
    if (m === 0) continue; // no split reads this feature
    w.get(pX)
      .scalar(OP.f32Load, f * 4)
      .tee(lV)
      .get(lV)
      .op(OP.f32Ne)
      .set(lNan);
    w.i32(base).set(lAt);
    for (let n = m; n > 1; n -= n >> 1) {
      const half = n >> 1;
      w.get(lAt)
        .i32(half * 4)
        .op(OP.i32Add)
        .get(lAt);
      w.get(lAt)
        .scalar(OP.f32Load, half * 4)
        .get(lV)
        .op(OP.f32Le, OP.select)
        .set(lAt);
    }
    w.get(lAt).i32(base).op(OP.i32Sub).i32(2).op(OP.i32ShrU);
    w.get(lAt).scalar(OP.f32Load, 0).get(lV).op(OP.f32Le, OP.i32Add).set(lBin);
    w.get(lDst)
      .get(lBin)
      .i32(0x80)
      .op(OP.i32Xor)
      .scalar(OP.i32Store8, f * 16);
    w.get(lDst)
      .i32(m)
      .get(lBin)
      .get(lNan)
      .op(OP.select)
      .i32(0x80)
      .op(OP.i32Xor)
      .scalar(OP.i32Store8, (nf + f) * 16);
    if (copies === 3) {
      w.get(lDst)
        .i32(layout.zeroBin[f] as number)
        .get(lBin)
        .get(lNan)
        .op(OP.select);
      w.i32(0x80)
        .op(OP.i32Xor)
        .scalar(OP.i32Store8, (2 * nf + f) * 16);
    }
  }
  w.get(pX)
    .i32(nf * 4)
    .op(OP.i32Add)
    .set(pX);
  w.get(lRow).i32(1).op(OP.i32Add).set(lRow);
  w.get(pRows).i32(1).op(OP.i32Sub).tee(pRows).op(OP.brIf, 0);
  w.op(OP.end, OP.end);
  return {
    name: "bin",
    params: [I32, I32, I32],
    locals: [
      { count: lV - lRow, type: I32 },
      { count: 1, type: F32 },
    ],
    code: w,
  };
}

/** `name(bins, acc, nGroups)`: calls functions [first, first + count) with the same arguments. */
export function callAll(name: string, first: number, count: number): WasmFunction {
  const w = new CodeWriter();
  for (let k = first; k < first + count; k++)
    w.get(0)
      .get(1)
      .get(2)
      .op(OP.call, ...uleb(k));
  return { name, params: [I32, I32, I32], locals: [], code: w };
}
