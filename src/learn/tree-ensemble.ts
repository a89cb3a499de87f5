import { InvalidParameterError } from "../errors.js";

/**
 * A tree ensemble as flat arrays: the one representation every GBDT format (keel, XGBoost JSON,
 * LightGBM text) is loaded into and scored by.
 *
 * Nodes of all trees are stored back to back; tree `t` owns nodes `[treeOffsets[t], treeOffsets[t+1])`
 * and its root is the first of them. `left`/`right` are tree-local node ids (0 = the tree's root),
 * as both XGBoost and LightGBM number them. A node is a leaf when `feature[n] === -1`.
 */
export type SplitCompare = "lt" | "le";
export type Link = "identity" | "sigmoid";

/**
 * How a numeric split treats a missing value (NaN):
 * - `MISSING_NAN` (XGBoost; LightGBM `NaN`): NaN takes the default direction.
 * - `MISSING_AS_ZERO` (LightGBM `None`): NaN is scored as 0.
 * - `MISSING_ZERO` (LightGBM `Zero`): NaN and |x| ≤ 1e-35 take the default direction.
 */
export const MISSING_NAN = 0;
export const MISSING_AS_ZERO = 1;
export const MISSING_ZERO = 2;

export interface CategoricalSplits {
  /** Per node: index of the node's category set, or -1 for a numeric split. */
  readonly nodeSet: Int32Array;
  /** Set `s` is the bitset `bits[setOffsets[s] .. setOffsets[s+1])` (32 categories per word). */
  readonly setOffsets: Int32Array;
  readonly bits: Uint32Array;
}

export interface TreeEnsemble {
  /** Width of a scored row: the number of input features. */
  readonly nFeatures: number;
  /** Length nTrees + 1. */
  readonly treeOffsets: Int32Array;
  /** Split feature per node, -1 for a leaf. */
  readonly feature: Int32Array;
  /** Split threshold per node (ignored for leaves and categorical splits). */
  readonly threshold: Float64Array | Float32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** 1 when a missing value goes left. */
  readonly defaultLeft: Uint8Array;
  /** Leaf value per node (ignored for internal nodes). */
  readonly value: Float64Array;
  /** Added to the summed leaf values; in margin space (before the link). */
  readonly baseScore: number;
  readonly link: Link;
  /** `lt`: `x < threshold` goes left (XGBoost); `le`: `x <= threshold` goes left (LightGBM). */
  readonly compare: SplitCompare;
  /** Per node missing-value mode (MISSING_*); absent means MISSING_NAN everywhere. */
  readonly missing?: Uint8Array;
  /**
   * Category-set splits: a value whose integer part (truncated toward zero) is in the node's set goes left; a negative,
   * missing or out-of-set value goes right (LightGBM's rule; a loader for a format with the
   * opposite convention swaps the children).
   */
  readonly categorical?: CategoricalSplits;
  /** Multiplier applied to the margin before a sigmoid link (LightGBM `sigmoid:k`); default 1. */
  readonly sigmoidScale?: number;
  /**
   * Precision of the running sum of leaves: XGBoost adds in float32, and at a margin of 10 the
   * float32 rounding of 30 additions already exceeds 1e-6, so matching it means rounding the same
   * way. Default float64.
   */
  readonly sumPrecision?: "float32" | "float64";
  /**
   * Per node, the weight of training rows that reached it (XGBoost `sum_hessian`, LightGBM
   * counts, keel hessian sums). Scoring ignores it; exact explanations (TreeSHAP) need it.
   */
  readonly cover?: Float64Array;
}

/**
 * The ensemble compiled for scoring: each group of trees becomes the source of one JavaScript
 * function of nested `if`s with the features and thresholds as literals. V8 turns that into
 * straight-line compare-and-branch code with no node arrays to load, several times faster than
 * walking node arrays. Group functions have the signature
 * `(x, nf, r0, r1, out, bits)` and add their trees' leaves to `out[r0..r1)`.
 * Only numbers the compiler formats itself (validated finite thresholds and leaves, integer feature
 * indices) enter the source.
 */
export interface CompiledEnsemble {
  readonly nFeatures: number;
  readonly nTrees: number;
  readonly baseScore: number;
  /** 0 = identity, 1 = sigmoid. */
  readonly link: number;
  readonly sigmoidScale: number;
  /** One function body per group of trees. */
  readonly sources: readonly string[];
  /** Category-set words referenced by the sources (`bits`). */
  readonly catBits: Uint32Array;
  /** The sources instantiated; rebuilt from `sources` where the object is posted to a worker. */
  readonly groups: readonly GroupFn[];
}

export type GroupFn = (
  x: Float32Array | Float64Array,
  nf: number,
  r0: number,
  r1: number,
  out: Float64Array,
  bits: Uint32Array,
) => void;

/** Trees per generated function are capped by node count: V8 optimises large functions poorly (measured: 800 nodes ≈ 7× faster than 2000 on the loan GBM). */
const MAX_GROUP_NODES = 800;
/** Deeper trees would nest `if`s past what parsers accept. */
const MAX_DEPTH = 400;

function fail(field: string, value: unknown, rule: string): never {
  throw new InvalidParameterError(`tree ensemble: ${field} = ${String(value)}: ${rule}`, {
    details: { field, value, rule },
  });
}

/** The smallest double greater than x (x < +Infinity). `v <= x` ⇔ `v < nextUp(x)` for every double v. */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigInt64(0);
  buf.setBigInt64(0, x > 0 ? bits + 1n : bits - 1n);
  return buf.getFloat64(0);
}

/** Checks the arrays' shapes and every child reference; throws InvalidParameterError naming the field. */
export function validateEnsemble(e: TreeEnsemble): void {
  const n = e.feature.length;
  if (!Number.isInteger(e.nFeatures) || e.nFeatures < 0) fail("nFeatures", e.nFeatures, "must be an integer ≥ 0");
  for (const [name, arr] of [
    ["threshold", e.threshold],
    ["left", e.left],
    ["right", e.right],
    ["defaultLeft", e.defaultLeft],
    ["value", e.value],
  ] as const) {
    if (arr.length !== n) fail(`${name}.length`, arr.length, `must equal feature.length (${n})`);
  }
  if (e.missing !== undefined && e.missing.length !== n) {
    fail("missing.length", e.missing.length, `must equal feature.length (${n})`);
  }
  if (e.cover !== undefined && e.cover.length !== n) {
    fail("cover.length", e.cover.length, `must equal feature.length (${n})`);
  }
  if (e.categorical !== undefined && e.categorical.nodeSet.length !== n) {
    fail("categorical.nodeSet.length", e.categorical.nodeSet.length, `must equal feature.length (${n})`);
  }
  const off = e.treeOffsets;
  if (off.length < 1 || off[0] !== 0 || off[off.length - 1] !== n) {
    fail("treeOffsets", `[${off[0]}..${off[off.length - 1]}]`, `must start at 0 and end at the node count (${n})`);
  }
  if (!Number.isFinite(e.baseScore)) fail("baseScore", e.baseScore, "must be finite");
  for (let t = 0; t + 1 < off.length; t++) {
    const start = off[t] ?? 0;
    const size = (off[t + 1] ?? 0) - start;
    if (size < 1) fail(`treeOffsets[${t + 1}]`, off[t + 1], "every tree needs at least one node");
    // One parent per node: a shared child would be scored (and compiled) once per path to it.
    const parents = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      const g = start + i;
      const f = e.feature[g] ?? -1;
      if (f === -1) {
        if (!Number.isFinite(e.value[g])) fail(`value[${g}]`, e.value[g], "a leaf value must be finite");
        continue;
      }
      if (f < 0 || f >= e.nFeatures) fail(`feature[${g}]`, f, `must be -1 (leaf) or in [0, ${e.nFeatures})`);
      const l = e.left[g] ?? -1;
      const r = e.right[g] ?? -1;
      // Children after their parent rule out cycles, which would hang the scorer.
      if (l <= i || l >= size) fail(`left[${g}]`, l, `must be a node of tree ${t} after node ${i} (< ${size})`);
      if (r <= i || r >= size) fail(`right[${g}]`, r, `must be a node of tree ${t} after node ${i} (< ${size})`);
      if (l === r || parents[l] === 1 || parents[r] === 1) {
        fail(`left[${g}]/right[${g}]`, `${l}/${r}`, `node ${i} of tree ${t} shares a child; every node has one parent`);
      }
      parents[l] = 1;
      parents[r] = 1;
      const set = e.categorical?.nodeSet[g] ?? -1;
      if (set >= 0 && set + 1 >= (e.categorical?.setOffsets.length ?? 0)) {
        fail(`categorical.nodeSet[${g}]`, set, "must index categorical.setOffsets");
      }
      if (set < 0 && Number.isNaN(e.threshold[g])) fail(`threshold[${g}]`, "NaN", "a numeric split needs a threshold");
    }
  }
}

/** Parameters of every group function, in order. */
const GROUP_PARAMS = ["x", "nf", "r0", "r1", "out", "bits"] as const;

/** Instantiates group sources; the only place generated code is evaluated. */
export function instantiateGroups(sources: readonly string[]): GroupFn[] {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- sources hold only numbers formatted by compileEnsemble
  return sources.map((src) => new Function(...GROUP_PARAMS, src) as GroupFn);
}

/** Validates the ensemble and generates its scoring functions. */
export function compileEnsemble(e: TreeEnsemble): CompiledEnsemble {
  validateEnsemble(e);
  const nTrees = e.treeOffsets.length - 1;
  const f32 = e.sumPrecision === "float32";
  const sets = e.categorical;
  const num = (v: number): string => (Object.is(v, -0) ? "0" : String(v));

  /** Source of the test that sends a row left at global node g. */
  const leftTest = (g: number): string => {
    const f = e.feature[g] ?? 0;
    const v = `x[b + ${f}]`;
    const set = sets?.nodeSet[g] ?? -1;
    if (set >= 0 && sets !== undefined) {
      // In-set integer part goes left; NaN fails `>= 0`; truncation toward zero as C's (int) cast.
      const lo = sets.setOffsets[set] ?? 0;
      const words = (sets.setOffsets[set + 1] ?? 0) - lo;
      return `((k = Math.trunc(${v})) >= 0 && k < ${words * 32} && ((bits[${lo} + (k >>> 5)] >>> (k & 31)) & 1) === 1)`;
    }
    const raw = e.threshold[g] ?? 0;
    // `x <= t` is `x < nextUp(t)`, except at +Infinity, which has no next double: keep `<=` there.
    const keepLe = e.compare === "le" && raw === Infinity;
    const lt = keepLe ? "<=" : "<";
    const ge = keepLe ? ">" : ">=";
    const cut = e.compare === "le" && !keepLe ? nextUp(raw) : raw;
    const t = num(cut);
    const dl = (e.defaultLeft[g] ?? 0) === 1;
    const mode = e.missing?.[g] ?? MISSING_NAN;
    if (mode === MISSING_AS_ZERO) {
      // NaN is scored as 0, so it goes where 0 goes.
      const zeroLeft = keepLe || 0 < cut;
      return zeroLeft ? `!(${v} ${ge} ${t})` : `${v} ${lt} ${t}`;
    }
    if (mode === MISSING_ZERO) {
      // 1e-35 is LightGBM's kZeroThreshold: values that close to 0 are missing too.
      return dl
        ? `(!((z = ${v}) ${ge} ${t}) || (z >= -1e-35 && z <= 1e-35))`
        : `((z = ${v}) ${lt} ${t} && !(z >= -1e-35 && z <= 1e-35))`;
    }
    // NaN fails every comparison: `!(v >= t)` sends it left, `v < t` sends it right.
    return dl ? `!(${v} ${ge} ${t})` : `${v} ${lt} ${t}`;
  };

  const treeSource = (start: number, local: number, depth: number, out: string[]): void => {
    if (depth > MAX_DEPTH)
      fail(`tree at node ${start}`, `depth > ${MAX_DEPTH}`, "trees deeper than this are not supported");
    const g = start + local;
    if ((e.feature[g] ?? -1) === -1) {
      const leaf = num(e.value[g] ?? 0);
      out.push(f32 ? `s = Math.fround(s + ${leaf});\n` : `s += ${leaf};\n`);
      return;
    }
    out.push(`if (${leftTest(g)}) {\n`);
    treeSource(start, e.left[g] ?? 0, depth + 1, out);
    out.push("} else {\n");
    treeSource(start, e.right[g] ?? 0, depth + 1, out);
    out.push("}\n");
  };

  const sources: string[] = [];
  let body: string[] = [];
  let nodes = 0;
  const flush = (): void => {
    if (body.length === 0) return;
    sources.push(
      `"use strict"; let k = 0, z = 0;\nfor (let r = r0; r < r1; r++) {\nconst b = r * nf; let s = out[r];\n${body.join("")}out[r] = s;\n}`,
    );
    body = [];
    nodes = 0;
  };
  for (let t = 0; t < nTrees; t++) {
    const start = e.treeOffsets[t] ?? 0;
    const size = (e.treeOffsets[t + 1] ?? 0) - start;
    if (nodes > 0 && nodes + size > MAX_GROUP_NODES) flush();
    treeSource(start, 0, 0, body);
    nodes += size;
  }
  flush();
  return {
    nFeatures: e.nFeatures,
    nTrees,
    baseScore: f32 ? Math.fround(e.baseScore) : e.baseScore,
    link: e.link === "sigmoid" ? 1 : 0,
    sigmoidScale: e.sigmoidScale ?? 1,
    sources,
    catBits: sets?.bits ?? new Uint32Array(0),
    groups: instantiateGroups(sources),
  };
}

/**
 * Raw margins (sum of leaves + base score) for rows `[rowStart, rowEnd)` of a row-major matrix
 * `x` (nFeatures per row) into `out[rowStart..rowEnd)`. Rows go through the tree groups in blocks
 * of 4096 so a group's code and the block's rows stay in cache. Self-contained (no closure, no
 * imports): worker threads run this very function's source.
 */
export function scoreMarginsKernel(
  c: CompiledEnsemble,
  x: Float32Array | Float64Array,
  rowStart: number,
  rowEnd: number,
  out: Float64Array,
): void {
  const nf = c.nFeatures;
  const groups = c.groups;
  const bits = c.catBits;
  for (let r = rowStart; r < rowEnd; r++) out[r] = c.baseScore;
  for (let b0 = rowStart; b0 < rowEnd; b0 += 4096) {
    const b1 = b0 + 4096 < rowEnd ? b0 + 4096 : rowEnd;
    for (let g = 0; g < groups.length; g++) (groups[g] as GroupFn)(x, nf, b0, b1, out, bits);
  }
}

/** Applies the link in place: margins → scores. */
export function applyLink(
  c: Pick<CompiledEnsemble, "link" | "sigmoidScale">,
  out: Float64Array,
  rowStart = 0,
  rowEnd = out.length,
): void {
  if (c.link !== 1) return;
  const k = c.sigmoidScale;
  for (let r = rowStart; r < rowEnd; r++) out[r] = 1 / (1 + Math.exp(-k * (out[r] as number)));
}

/**
 * Scores `nRows` rows of a row-major matrix on the calling thread: margins then the link.
 * Pass `out` to reuse a buffer; it must hold at least `nRows` values.
 */
export function scoreEnsemble(
  c: CompiledEnsemble,
  x: Float32Array | Float64Array,
  nRows: number,
  out: Float64Array = new Float64Array(nRows),
): Float64Array {
  checkMatrix(c, x, nRows, out);
  scoreMarginsKernel(c, x, 0, nRows, out);
  applyLink(c, out, 0, nRows);
  return out;
}

export function checkMatrix(
  c: Pick<CompiledEnsemble, "nFeatures">,
  x: Float32Array | Float64Array,
  nRows: number,
  out: Float64Array,
): void {
  if (!Number.isInteger(nRows) || nRows < 0) fail("nRows", nRows, "must be an integer ≥ 0");
  if (x.length < nRows * c.nFeatures) {
    fail("x.length", x.length, `must hold nRows × nFeatures = ${nRows} × ${c.nFeatures} values`);
  }
  if (out.length < nRows) fail("out.length", out.length, `must hold nRows = ${nRows} values`);
}
