/**
 * Population Stability Index, Σ (p_cur − p_ref) · ln(p_cur / p_ref) over bins.
 * Default bins are the reference deciles (edges at the reference's 0, 10, …, 100 % quantiles,
 * de-duplicated, outer edges opened to ±∞), exactly the numpy PSI keel's benchmark anchors use.
 */
import { InvalidParameterError } from "../errors.js";
import { histogramSorted, quantileEdges } from "./quantile.js";

/**
 * Floor applied to every bin proportion before the logarithm (`np.clip(p, 1e-4, None)`), so an
 * empty bin contributes a large but finite term instead of ∞. 1e-4 is one hundredth of a decile.
 */
export const PSI_EPSILON = 1e-4;

/** Default number of reference-quantile bins. */
export const PSI_DEFAULT_BINS = 10;

/** PSI from two count vectors over the same bins; totals are the sample sizes. */
export function psiFromCounts(
  refCounts: Float64Array,
  curCounts: Float64Array,
  refTotal: number,
  curTotal: number,
  epsilon: number = PSI_EPSILON,
): number {
  if (refCounts.length !== curCounts.length) {
    throw new InvalidParameterError(
      `PSI: reference has ${refCounts.length} bins and current ${curCounts.length}: bin counts must align`,
      { details: { field: "bins", value: curCounts.length, rule: "same bins as the reference" } },
    );
  }
  let s = 0;
  for (let i = 0; i < refCounts.length; i++) {
    let pa = refCounts[i]! / refTotal;
    let pb = curCounts[i]! / curTotal;
    if (pa < epsilon) pa = epsilon;
    if (pb < epsilon) pb = epsilon;
    s += (pb - pa) * Math.log(pb / pa);
  }
  return s;
}

export interface PsiOptions {
  /** Number of reference-quantile bins (≥ 1); default 10. */
  readonly bins?: number;
  /** Explicit bin edges (ascending); overrides `bins`. */
  readonly edges?: Float64Array;
  readonly epsilon?: number;
}

/** PSI of two sorted, NaN-free samples. */
export function psiSorted(ref: Float64Array, cur: Float64Array, options: PsiOptions = {}): number {
  const bins = options.bins ?? PSI_DEFAULT_BINS;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new InvalidParameterError(`PSI: bins = ${bins}: must be an integer ≥ 1`, {
      details: { field: "bins", value: bins, rule: "integer >= 1" },
    });
  }
  if (ref.length === 0 || cur.length === 0) {
    throw new InvalidParameterError(
      `PSI: sample sizes ${ref.length} and ${cur.length}: both samples must hold at least one non-null value`,
      { details: { field: ref.length === 0 ? "reference" : "current", value: 0, rule: "non-empty sample" } },
    );
  }
  const edges = options.edges ?? quantileEdges(ref, bins);
  const a = histogramSorted(ref, edges);
  const b = histogramSorted(cur, edges);
  return psiFromCounts(a, b, ref.length, cur.length, options.epsilon);
}
