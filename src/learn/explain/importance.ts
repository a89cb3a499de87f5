/** A feature's global importance: the mean of |SHAP value| over the explained rows, in margin units. */
export interface FeatureImportance {
  readonly feature: string;
  readonly meanAbsShap: number;
}

/**
 * Adds each feature's |value| over rows `[0, nRows)` of row-major explanations (`nFeatures + 1`
 * values per row, the bias last and skipped) into `sums`.
 */
export function accumulateAbsShap(values: Float64Array, nRows: number, nFeatures: number, sums: Float64Array): void {
  const width = nFeatures + 1;
  for (let r = 0; r < nRows; r++) {
    const b = r * width;
    for (let j = 0; j < nFeatures; j++) sums[j] = (sums[j] as number) + Math.abs(values[b + j] as number);
  }
}

/** Mean |SHAP value| per feature over the rows of row-major explanations (bias column excluded). */
export function meanAbsShap(values: Float64Array, nRows: number, nFeatures: number): Float64Array {
  const sums = new Float64Array(nFeatures);
  accumulateAbsShap(values, nRows, nFeatures, sums);
  if (nRows > 0) for (let j = 0; j < nFeatures; j++) sums[j] = (sums[j] as number) / nRows;
  return sums;
}

/** Features with their mean |SHAP value|, most important first (ties keep model order). */
export function rankImportance(features: readonly string[], means: Float64Array): FeatureImportance[] {
  return features
    .map((feature, j) => ({ feature, meanAbsShap: means[j] ?? 0 }))
    .sort((a, b) => b.meanAbsShap - a.meanAbsShap);
}
