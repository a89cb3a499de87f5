import { InvalidParameterError } from "../../errors.js";
import { MISSING_AS_ZERO, MISSING_ZERO, validateEnsemble, type TreeEnsemble } from "../tree-ensemble.js";

/**
 * Exact per-row SHAP values of a tree ensemble: the polynomial-time, path-dependent TreeSHAP of
 * Lundberg, Erion & Lee ("Consistent individualized feature attribution for tree ensembles",
 * Algorithm 2). For each leaf, the path from the root is kept as the unique features split on,
 * each with the fraction of training weight (cover) that flows along the path when the feature is
 * unknown (`zero`) and whether the row itself follows it (`one`); EXTEND adds a feature to the
 * path, UNWIND removes one, and the leaf's value is shared among the path's features by the
 * resulting permutation weights. The result is in margin space (before the link), one value per
 * feature plus the bias (the ensemble's expected margin), and each row sums to its margin — the
 * numbers XGBoost's `predict(pred_contribs=True)` and LightGBM's `pred_contrib=True` give.
 *
 * Rows are routed exactly as scoring routes them (`compileEnsemble`): missing values take the
 * default direction, LightGBM's missing modes and category sets apply.
 */
export class TreeShap {
  readonly nFeatures: number;
  /** Base score plus every tree's cover-weighted mean leaf: the margin of a row nothing is known about. */
  readonly bias: number;
  private readonly e: TreeEnsemble;
  private readonly le: boolean;
  // The node arrays the recursion reads, held monomorphic (float64) for V8.
  private readonly feature: Int32Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly threshold: Float64Array;
  private readonly value: Float64Array;
  private readonly cover: Float64Array;
  // Path buffers, one segment per recursion level (the paper's m), reused across rows and trees.
  private readonly pathFeature: Int32Array;
  private readonly pathZero: Float64Array;
  private readonly pathOne: Float64Array;
  private readonly pathWeight: Float64Array;
  /** 1/k for k in [1, maximum path length]. */
  private readonly recip: Float64Array;
  private x: Float64Array = new Float64Array(0);
  private rowBase = 0;
  private phi: Float64Array = new Float64Array(0);
  private phiBase = 0;

  constructor(e: TreeEnsemble) {
    validateEnsemble(e);
    const cover = e.cover;
    if (cover === undefined) {
      throw new InvalidParameterError(
        "tree ensemble: cover = (absent): exact explanations need each node's training cover; this model file does not record it (keel models trained before covers were saved: retrain)",
        { details: { field: "cover", value: null, rule: "per-node training covers required" } },
      );
    }
    const nTrees = e.treeOffsets.length - 1;
    let maxDepth = 0;
    let bias = e.baseScore;
    for (let t = 0; t < nTrees; t++) {
      const start = e.treeOffsets[t] as number;
      const end = e.treeOffsets[t + 1] as number;
      for (let g = start; g < end; g++) {
        const c = cover[g] as number;
        const internal = (e.feature[g] as number) >= 0;
        if (!Number.isFinite(c) || c < 0 || (internal && c === 0)) {
          throw new InvalidParameterError(
            `tree ensemble: cover[${g}] = ${c}: a cover must be finite and ≥ 0, and > 0 at a split`,
            { details: { field: `cover[${g}]`, value: c, rule: "finite, ≥ 0, > 0 at a split" } },
          );
        }
      }
      maxDepth = Math.max(maxDepth, this.depthOf(e, start, 0));
      bias += this.expectedValue(e, cover, start, 0);
    }
    this.e = e;
    this.feature = e.feature;
    this.left = e.left;
    this.right = e.right;
    this.threshold = Float64Array.from(e.threshold);
    this.value = e.value;
    this.cover = cover;
    this.nFeatures = e.nFeatures;
    this.bias = bias;
    this.le = e.compare === "le";
    const maxd = maxDepth + 2;
    const size = (maxd * (maxd + 1)) / 2;
    this.pathFeature = new Int32Array(size);
    this.pathZero = new Float64Array(size);
    this.pathOne = new Float64Array(size);
    this.pathWeight = new Float64Array(size);
    this.recip = Float64Array.from({ length: maxd + 2 }, (_, k) => (k === 0 ? 0 : 1 / k));
  }

  private depthOf(e: TreeEnsemble, start: number, local: number): number {
    const g = start + local;
    if ((e.feature[g] as number) < 0) return 0;
    return 1 + Math.max(this.depthOf(e, start, e.left[g] as number), this.depthOf(e, start, e.right[g] as number));
  }

  /** The tree's mean leaf value weighted by cover: what it predicts for a row nothing is known about. */
  private expectedValue(e: TreeEnsemble, cover: Float64Array, start: number, local: number): number {
    const g = start + local;
    if ((e.feature[g] as number) < 0) return e.value[g] as number;
    const l = e.left[g] as number;
    const r = e.right[g] as number;
    const cl = cover[start + l] as number;
    const cr = cover[start + r] as number;
    return (
      (cl * this.expectedValue(e, cover, start, l) + cr * this.expectedValue(e, cover, start, r)) / (cover[g] as number)
    );
  }

  /**
   * Explains rows `[0, nRows)` of a row-major matrix `x` (nFeatures per row, NaN = missing, the
   * element type the model scores in). Row r's values go to `out[r*(nFeatures+1) .. +nFeatures)`
   * and its bias to `out[r*(nFeatures+1) + nFeatures]`.
   */
  explain(
    x: Float32Array | Float64Array,
    nRows: number,
    out: Float64Array = new Float64Array(nRows * (this.nFeatures + 1)),
  ): Float64Array {
    const nf = this.nFeatures;
    const width = nf + 1;
    if (!Number.isInteger(nRows) || nRows < 0) fail("nRows", nRows, "must be an integer ≥ 0");
    if (x.length < nRows * nf) fail("x.length", x.length, `must hold nRows × nFeatures = ${nRows} × ${nf} values`);
    if (out.length < nRows * width)
      fail("out.length", out.length, `must hold nRows × (nFeatures + 1) = ${nRows * width}`);
    const offsets = this.e.treeOffsets;
    const nTrees = offsets.length - 1;
    // Float32 inputs widen exactly; one element type keeps the recursion monomorphic.
    this.x = x instanceof Float64Array ? x : Float64Array.from(x.subarray(0, nRows * nf));
    this.phi = out;
    for (let r = 0; r < nRows; r++) {
      this.rowBase = r * nf;
      this.phiBase = r * width;
      out.fill(0, this.phiBase, this.phiBase + nf);
      for (let t = 0; t < nTrees; t++) this.recurse(offsets[t] as number, 0, 0, 0, 1, 1, -1);
      out[this.phiBase + nf] = this.bias;
    }
    this.x = new Float64Array(0);
    this.phi = new Float64Array(0);
    return out;
  }

  /** Does the row go to the left child at global node g? Mirrors compileEnsemble's tests. */
  private goesLeft(g: number, v: number): boolean {
    const e = this.e;
    const set = e.categorical === undefined ? -1 : (e.categorical.nodeSet[g] as number);
    if (set >= 0) {
      const cat = e.categorical as NonNullable<TreeEnsemble["categorical"]>;
      const k = Math.trunc(v);
      const lo = cat.setOffsets[set] as number;
      const words = (cat.setOffsets[set + 1] as number) - lo;
      return k >= 0 && k < words * 32 && (((cat.bits[lo + (k >>> 5)] as number) >>> (k & 31)) & 1) === 1;
    }
    const mode = e.missing === undefined ? 0 : (e.missing[g] as number);
    let u = v;
    if (mode === MISSING_AS_ZERO) {
      if (u !== u) u = 0;
    } else if (mode === MISSING_ZERO) {
      if (u !== u || (u >= -1e-35 && u <= 1e-35)) return (e.defaultLeft[g] as number) === 1;
    }
    if (u !== u) return (e.defaultLeft[g] as number) === 1;
    const t = this.threshold[g] as number;
    return this.le ? u <= t : u < t;
  }

  /**
   * TreeSHAP's RECURSE at tree-local node `local` of the tree starting at `start`. `parentBase`
   * is the parent's path segment, `depth` the path length so far; the node extends the path with
   * the split feature that led here and its zero/one fractions.
   */
  private recurse(
    start: number,
    local: number,
    depth: number,
    parentBase: number,
    parentZero: number,
    parentOne: number,
    parentFeature: number,
  ): void {
    const pf = this.pathFeature;
    const pz = this.pathZero;
    const po = this.pathOne;
    const pw = this.pathWeight;
    const base = parentBase + depth + 1;
    for (let i = 0; i <= depth; i++) {
      pf[base + i] = pf[parentBase + i] as number;
      pz[base + i] = pz[parentBase + i] as number;
      po[base + i] = po[parentBase + i] as number;
      pw[base + i] = pw[parentBase + i] as number;
    }
    extendPath(pf, pz, po, pw, base, depth, parentZero, parentOne, parentFeature);

    const g = start + local;
    const split = this.feature[g] as number;
    if (split < 0) {
      const leaf = this.value[g] as number;
      const phi = this.phi;
      const recip = this.recip;
      for (let i = 1; i <= depth; i++) {
        const w = unwoundPathSum(pz, po, pw, recip, base, depth, i);
        const k = this.phiBase + (pf[base + i] as number);
        phi[k] = (phi[k] as number) + w * ((po[base + i] as number) - (pz[base + i] as number)) * leaf;
      }
      return;
    }
    const cover = this.cover;
    const l = this.left[g] as number;
    const r = this.right[g] as number;
    const left = this.goesLeft(g, this.x[this.rowBase + split] as number);
    const hot = left ? l : r;
    const cold = left ? r : l;
    const w = cover[g] as number;
    const hotZero = (cover[start + hot] as number) / w;
    const coldZero = (cover[start + cold] as number) / w;
    let inZero = 1;
    let inOne = 1;
    let d = depth;
    // A feature split on again higher up: undo that split so it is redone here.
    let at = 1;
    while (at <= d && pf[base + at] !== split) at++;
    if (at <= d) {
      inZero = pz[base + at] as number;
      inOne = po[base + at] as number;
      unwindPath(pf, pz, po, pw, base, d, at);
      d--;
    }
    this.recurse(start, hot, d + 1, base, hotZero * inZero, inOne, split);
    this.recurse(start, cold, d + 1, base, coldZero * inZero, 0, split);
  }
}

function fail(field: string, value: unknown, rule: string): never {
  throw new InvalidParameterError(`tree SHAP: ${field} = ${String(value)}: ${rule}`, {
    details: { field, value, rule },
  });
}

/** EXTEND: appends a feature with its zero/one fractions and updates the permutation weights. */
function extendPath(
  pf: Int32Array,
  pz: Float64Array,
  po: Float64Array,
  pw: Float64Array,
  base: number,
  depth: number,
  zero: number,
  one: number,
  feature: number,
): void {
  pf[base + depth] = feature;
  pz[base + depth] = zero;
  po[base + depth] = one;
  pw[base + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    pw[base + i + 1] = (pw[base + i + 1] as number) + (one * (pw[base + i] as number) * (i + 1)) / (depth + 1);
    pw[base + i] = (zero * (pw[base + i] as number) * (depth - i)) / (depth + 1);
  }
}

/** UNWIND: removes path element `at`, the inverse of EXTEND. */
function unwindPath(
  pf: Int32Array,
  pz: Float64Array,
  po: Float64Array,
  pw: Float64Array,
  base: number,
  depth: number,
  at: number,
): void {
  const one = po[base + at] as number;
  const zero = pz[base + at] as number;
  let next = pw[base + depth] as number;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = pw[base + i] as number;
      pw[base + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - ((pw[base + i] as number) * zero * (depth - i)) / (depth + 1);
    } else {
      pw[base + i] = ((pw[base + i] as number) * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = at; i < depth; i++) {
    pf[base + i] = pf[base + i + 1] as number;
    pz[base + i] = pz[base + i + 1] as number;
    po[base + i] = po[base + i + 1] as number;
  }
}

/**
 * The total permutation weight of the path with element `at` unwound, without changing the path.
 * `recip[k]` = 1/k: the per-leaf hot loop multiplies instead of dividing.
 */
function unwoundPathSum(
  pz: Float64Array,
  po: Float64Array,
  pw: Float64Array,
  recip: Float64Array,
  base: number,
  depth: number,
  at: number,
): number {
  const one = po[base + at] as number;
  const zero = pz[base + at] as number;
  const d1 = depth + 1;
  let total = 0;
  if (one !== 0) {
    const scale = d1 / one;
    const back = zero * (recip[d1] as number);
    let next = pw[base + depth] as number;
    for (let i = depth - 1; i >= 0; i--) {
      const tmp = next * scale * (recip[i + 1] as number);
      total += tmp;
      next = (pw[base + i] as number) - tmp * back * (depth - i);
    }
  } else if (zero !== 0) {
    const scale = d1 / zero;
    for (let i = depth - 1; i >= 0; i--) total += (pw[base + i] as number) * scale * (recip[depth - i] as number);
  }
  return total;
}
