/**
 * Which drift test to run on a column, following Evidently's documented defaults:
 *
 * - a numeric column with at most 5 distinct values (reference ∪ current) is treated as categorical;
 * - reference of at most 1,000 non-null rows: KS (p < 0.05) for numeric, χ² (p < 0.05) for categorical;
 * - larger references: Wasserstein-1 divided by the reference standard deviation (floored at
 *   0.001), drift when ≥ 0.1, for numeric; Jensen–Shannon distance of the category frequencies,
 *   drift when ≥ 0.1, for categorical.
 *
 * The large-sample choices are effect sizes: with a million rows a p-value flags differences
 * nobody cares about, while a normalised distance of 0.1 is a shift worth a look.
 */
export type DriftMethod = "ks" | "chi2" | "wasserstein" | "jensenshannon";

export const AUTO_SMALL_REFERENCE_ROWS = 1000;
export const AUTO_MIN_NUMERIC_DISTINCT = 5;
export const P_VALUE_THRESHOLD = 0.05;
export const WASSERSTEIN_THRESHOLD = 0.1;
export const JENSEN_SHANNON_THRESHOLD = 0.1;
/** Floor for the reference std that normalises Wasserstein, so constant columns do not divide by 0. */
export const WASSERSTEIN_MIN_STD = 0.001;

export interface MethodInput {
  readonly kind: "numeric" | "categorical";
  /** Non-null reference rows. */
  readonly referenceRows: number;
  /** Distinct non-null values over reference and current (numeric columns). */
  readonly distinct: number;
}

/** The automatic choice described above. */
export function chooseDriftMethod(input: MethodInput): DriftMethod {
  const numeric = input.kind === "numeric" && input.distinct > AUTO_MIN_NUMERIC_DISTINCT;
  if (input.referenceRows <= AUTO_SMALL_REFERENCE_ROWS) return numeric ? "ks" : "chi2";
  return numeric ? "wasserstein" : "jensenshannon";
}

/** Whether a statistic (or p-value) signals drift under the method's rule. */
export function isDrift(method: DriftMethod, statistic: number, pValue: number | null): boolean {
  switch (method) {
    case "ks":
    case "chi2":
      return pValue !== null && pValue < P_VALUE_THRESHOLD;
    case "wasserstein":
      return statistic >= WASSERSTEIN_THRESHOLD;
    case "jensenshannon":
      return statistic >= JENSEN_SHANNON_THRESHOLD;
  }
}
