import { checkBinaryLabels, checkFinite, checkPair, type NumericArray } from "./classification.js";
import { chi2Sf } from "./special.js";
import { specError } from "../spec-fields.js";

/**
 * DeLong's test for two correlated ROC curves (DeLong, DeLong & Clarke-Pearson 1988), as R's
 * pROC computes `roc.test(method = "delong", paired = TRUE)`: AUCs from structural components
 * (placements, ties counted as one half), their covariance across the two models, a z statistic
 * on the difference, a two-sided p-value and a normal confidence interval for the difference.
 */
export interface DelongComparison {
  readonly aucA: number;
  readonly aucB: number;
  /** aucA − aucB. */
  readonly difference: number;
  /** Standard error of the difference. */
  readonly standardError: number;
  readonly z: number;
  /** Two-sided. */
  readonly pValue: number;
  readonly ciLow: number;
  readonly ciHigh: number;
  readonly confidenceLevel: number;
}

/** Per-row placements of one model's scores: `cases[i]` for the i-th positive, `controls[j]` for the j-th negative. */
interface Placements {
  readonly auc: number;
  readonly cases: Float64Array;
  readonly controls: Float64Array;
}

/**
 * A positive's placement is the share of negatives scored below it, a negative's the share of
 * positives scored above it; a tie counts one half. Both average to the AUC.
 */
function placements(labels: NumericArray, scores: NumericArray, positives: number): Placements {
  const n = labels.length;
  const negatives = n - positives;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (scores[a] as number) - (scores[b] as number));
  // Index of each row among the positives / negatives, in input order, so placements line up across models.
  const caseIndex = new Int32Array(n);
  let p = 0;
  let q = 0;
  for (let i = 0; i < n; i++) caseIndex[i] = labels[i] === 1 ? p++ : q++;
  const cases = new Float64Array(positives);
  const controls = new Float64Array(negatives);
  let negativesBelow = 0;
  let positivesBelow = 0;
  let sum = 0;
  for (let start = 0; start < n;) {
    const value = scores[order[start] as number] as number;
    let end = start;
    let tiedPositives = 0;
    while (end < n && scores[order[end] as number] === value) {
      if (labels[order[end] as number] === 1) tiedPositives++;
      end++;
    }
    const tiedNegatives = end - start - tiedPositives;
    const caseValue = (negativesBelow + 0.5 * tiedNegatives) / negatives;
    const controlValue = (positives - positivesBelow - tiedPositives + 0.5 * tiedPositives) / positives;
    for (let k = start; k < end; k++) {
      const row = order[k] as number;
      if (labels[row] === 1) {
        cases[caseIndex[row] as number] = caseValue;
        sum += caseValue;
      } else {
        controls[caseIndex[row] as number] = controlValue;
      }
    }
    negativesBelow += tiedNegatives;
    positivesBelow += tiedPositives;
    start = end;
  }
  return { auc: sum / positives, cases, controls };
}

/** Σ (a − meanA)(b − meanB) / (len − 1). */
function covariance(a: Float64Array, meanA: number, b: Float64Array, meanB: number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - meanA) * ((b[i] as number) - meanB);
  return s / (a.length - 1);
}

/** The z with P(|Z| > z) = alpha, by Newton's method on the χ²(1) tail keel already computes as scipy does. */
export function normalTwoSidedCritical(alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw specError("alpha", alpha, "must be in (0, 1)");
  let z = 2;
  for (let i = 0; i < 100; i++) {
    const f = chi2Sf(z * z, 1) - alpha;
    const density = Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
    const step = f / (2 * density);
    z += step;
    if (Math.abs(step) < 1e-15 * z) break;
  }
  return z;
}

export function delongPaired(
  labels: NumericArray,
  scoresA: NumericArray,
  scoresB: NumericArray,
  confidenceLevel = 0.95,
): DelongComparison {
  checkPair(labels, scoresA, "scoresA");
  checkPair(labels, scoresB, "scoresB");
  checkFinite(scoresA, "scoresA");
  checkFinite(scoresB, "scoresB");
  if (!(confidenceLevel > 0 && confidenceLevel < 1))
    throw specError("confidenceLevel", confidenceLevel, "must be in (0, 1)");
  const positives = checkBinaryLabels(labels);
  const negatives = labels.length - positives;
  if (positives < 2 || negatives < 2) {
    throw specError("labels", { positives, negatives }, "needs at least two of each class");
  }
  const a = placements(labels, scoresA, positives);
  const b = placements(labels, scoresB, positives);
  const varianceOf = (x: Placements, y: Placements): number =>
    covariance(x.cases, x.auc, y.cases, y.auc) / positives +
    covariance(x.controls, x.auc, y.controls, y.auc) / negatives;
  const variance = varianceOf(a, a) + varianceOf(b, b) - 2 * varianceOf(a, b);
  const difference = a.auc - b.auc;
  const standardError = Math.sqrt(Math.max(variance, 0));
  // pROC calls identical curves (0/0) a z of 0.
  const z =
    standardError === 0 ? (difference === 0 ? 0 : Math.sign(difference) * Infinity) : difference / standardError;
  const pValue = Number.isFinite(z) ? chi2Sf(z * z, 1) : 0;
  const critical = normalTwoSidedCritical(1 - confidenceLevel);
  return {
    aucA: a.auc,
    aucB: b.auc,
    difference,
    standardError,
    z,
    pValue,
    ciLow: difference - critical * standardError,
    ciHigh: difference + critical * standardError,
    confidenceLevel,
  };
}

/**
 * McNemar's test on paired decisions, as R's `mcnemar.test(table, correct = TRUE)`: only the
 * discordant pairs count, `b` (A right, B wrong) and `c` (A wrong, B right), with the continuity
 * correction. With no discordant pairs R answers NaN; keel answers statistic 0 and p = 1, as
 * there is no evidence of a difference.
 */
export interface McnemarResult {
  readonly aRightBWrong: number;
  readonly aWrongBRight: number;
  readonly statistic: number;
  readonly pValue: number;
}

export function mcnemar(labels: NumericArray, decisionsA: NumericArray, decisionsB: NumericArray): McnemarResult {
  checkPair(labels, decisionsA, "decisionsA");
  checkPair(labels, decisionsB, "decisionsB");
  checkBinaryLabels(labels);
  let b = 0;
  let c = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const rightA = decisionsA[i] === y;
    const rightB = decisionsB[i] === y;
    if (rightA && !rightB) b++;
    else if (!rightA && rightB) c++;
  }
  if (b + c === 0) return { aRightBWrong: 0, aWrongBRight: 0, statistic: 0, pValue: 1 };
  // R drops the correction when the table is symmetric (b = c), giving 0.
  const statistic = b === c ? 0 : (Math.abs(b - c) - 1) ** 2 / (b + c);
  return { aRightBWrong: b, aWrongBRight: c, statistic, pValue: chi2Sf(statistic, 1) };
}

export type Verdict = "better" | "worse" | "inconclusive";

/**
 * `better` when the whole (1 − α) confidence interval of the AUC gain lies above `minEffect`,
 * `worse` when it lies below zero, else `inconclusive`. With `minEffect` 0 this is DeLong's
 * two-sided test at level α, read with the sign of the difference.
 */
export function verdictOf(ciLow: number, ciHigh: number, minEffect: number): Verdict {
  if (ciLow > minEffect) return "better";
  if (ciHigh < 0) return "worse";
  return "inconclusive";
}
