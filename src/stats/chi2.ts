/**
 * Pearson χ² test of independence / homogeneity on a contingency table, as
 * `scipy.stats.chi2_contingency(observed)` (correction=True): expected counts from the margins,
 * dof = (r−1)(c−1), Yates' continuity correction only when dof = 1, p from the χ² survival function.
 */
import { InvalidParameterError } from "../errors.js";
import { chi2Sf } from "./special.js";

export interface Chi2Result {
  readonly statistic: number;
  readonly pValue: number;
  readonly dof: number;
}

/** `observed` is row-major, `rows` × `cols`, non-negative counts. */
export function chi2Contingency(observed: Float64Array, rows: number, cols: number, correction = true): Chi2Result {
  if (rows < 1 || cols < 1 || observed.length !== rows * cols) {
    throw new InvalidParameterError(
      `chi-square: table of ${observed.length} cells is not ${rows} × ${cols}: shape must match and be non-empty`,
      { details: { field: "observed", value: observed.length, rule: "rows * cols cells, at least 1" } },
    );
  }
  const rowSum = new Float64Array(rows);
  const colSum = new Float64Array(cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = observed[r * cols + c]!;
      if (!(v >= 0)) {
        throw new InvalidParameterError(`chi-square: cell (${r}, ${c}) = ${v}: counts must be non-negative`, {
          details: { field: "observed", value: v, rule: "non-negative" },
        });
      }
      rowSum[r]! += v;
      colSum[c]! += v;
      total += v;
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (rowSum[r]! * colSum[c]! === 0) {
        throw new InvalidParameterError(
          `chi-square: expected frequency at (${r}, ${c}) is 0: every row and column of the table needs a non-zero total`,
          { details: { field: "observed", value: [r, c], rule: "non-zero margins" } },
        );
      }
    }
  }
  const dof = (rows - 1) * (cols - 1);
  if (dof === 0) return { statistic: 0, pValue: 1, dof };
  const yates = dof === 1 && correction;
  let stat = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const e = (rowSum[r]! * colSum[c]!) / total;
      let o = observed[r * cols + c]!;
      if (yates) {
        const diff = e - o;
        o += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      stat += ((o - e) * (o - e)) / e;
    }
  }
  return { statistic: stat, pValue: chi2Sf(stat, dof), dof };
}

/**
 * Homogeneity of two category-count vectors (reference vs current), the 2 × k table
 * `pd.crosstab(sample, category)` would build: categories absent from both samples are dropped.
 */
export function chi2Homogeneity(refCounts: Float64Array, curCounts: Float64Array): Chi2Result {
  if (refCounts.length !== curCounts.length) {
    throw new InvalidParameterError(
      `chi-square: reference has ${refCounts.length} categories and current ${curCounts.length}: counts must be aligned to one dictionary`,
      { details: { field: "categories", value: curCounts.length, rule: "same length as reference" } },
    );
  }
  let k = 0;
  for (let i = 0; i < refCounts.length; i++) if (refCounts[i]! + curCounts[i]! > 0) k++;
  const table = new Float64Array(2 * k);
  let j = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const a = refCounts[i]!;
    const b = curCounts[i]!;
    if (a + b > 0) {
      table[j] = a;
      table[k + j] = b;
      j++;
    }
  }
  return chi2Contingency(table, 2, k);
}
