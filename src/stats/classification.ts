import { specError } from "../spec-fields.js";

/** Any numeric typed array: labels are 0/1 in any of these; scores are usually Float64Array. */
export type NumericArray = Float64Array | Float32Array | Int32Array | Uint8Array;

export function checkPair(y: NumericArray, s: NumericArray, sName = "scores"): void {
  if (y.length !== s.length) throw specError(`${sName}.length`, s.length, `must equal labels.length (${y.length})`);
  if (y.length === 0) throw specError("labels.length", 0, "must be at least 1");
}

export function checkBinaryLabels(y: NumericArray): number {
  let pos = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i] as number;
    if (v === 1) pos++;
    else if (v !== 0) throw specError(`labels[${i}]`, v, "binary labels must be 0 or 1");
  }
  return pos;
}

export function checkFinite(s: NumericArray, name: string): void {
  for (let i = 0; i < s.length; i++) {
    if (!Number.isFinite(s[i])) throw specError(`${name}[${i}]`, s[i], "must be a finite number");
  }
}

/**
 * The ranking curve at every distinct score, highest first: `tps[k]`/`fps[k]` count the positives /
 * negatives scoring ≥ `thresholds[k]` (sklearn's `_binary_clf_curve`). Tied scores form one point,
 * which is what makes ties count half in the AUC.
 */
export interface RankCurve {
  readonly thresholds: Float64Array;
  readonly tps: Float64Array;
  readonly fps: Float64Array;
  readonly positives: number;
  readonly negatives: number;
}

export function rankCurve(labels: NumericArray, scores: NumericArray): RankCurve {
  checkPair(labels, scores);
  const nPos = checkBinaryLabels(labels);
  checkFinite(scores, "scores");
  const nNeg = labels.length - nPos;
  // Sorting positives and negatives apart with the native numeric sort, then merging, avoids a
  // comparator sort over indices (several times slower at a million rows).
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  let ip = 0;
  let ineg = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) pos[ip++] = scores[i] as number;
    else neg[ineg++] = scores[i] as number;
  }
  pos.sort();
  neg.sort();
  const thresholds = new Float64Array(labels.length);
  const tps = new Float64Array(labels.length);
  const fps = new Float64Array(labels.length);
  let k = 0;
  let a = nPos - 1;
  let b = nNeg - 1;
  let tp = 0;
  let fp = 0;
  while (a >= 0 || b >= 0) {
    const sa = a >= 0 ? (pos[a] as number) : -Infinity;
    const sb = b >= 0 ? (neg[b] as number) : -Infinity;
    const t = sa > sb ? sa : sb;
    while (a >= 0 && pos[a] === t) {
      tp++;
      a--;
    }
    while (b >= 0 && neg[b] === t) {
      fp++;
      b--;
    }
    thresholds[k] = t;
    tps[k] = tp;
    fps[k] = fp;
    k++;
  }
  return {
    thresholds: thresholds.slice(0, k),
    tps: tps.slice(0, k),
    fps: fps.slice(0, k),
    positives: nPos,
    negatives: nNeg,
  };
}

function needBothClasses(c: RankCurve, metric: string): void {
  if (c.positives === 0 || c.negatives === 0) {
    throw specError(
      "labels",
      { positives: c.positives, negatives: c.negatives },
      `${metric} needs both classes present`,
    );
  }
}

/** Area under the ROC curve, ties as sklearn's `roc_auc_score` (trapezoids between distinct scores). */
export function rocAuc(labels: NumericArray, scores: NumericArray): number {
  const c = rankCurve(labels, scores);
  needBothClasses(c, "ROC-AUC");
  // Sum in integer counts (exact below 2^53) and divide once.
  let area = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (let k = 0; k < c.tps.length; k++) {
    const tp = c.tps[k] as number;
    const fp = c.fps[k] as number;
    area += (fp - prevFp) * (tp + prevTp);
    prevTp = tp;
    prevFp = fp;
  }
  return area / (2 * c.positives * c.negatives);
}

/** Average precision as sklearn's `average_precision_score`: Σ (R_k − R_{k−1}) · P_k. */
export function averagePrecision(labels: NumericArray, scores: NumericArray): number {
  const c = rankCurve(labels, scores);
  if (c.positives === 0) throw specError("labels", { positives: 0 }, "average precision needs at least one positive");
  let ap = 0;
  let prevTp = 0;
  for (let k = 0; k < c.tps.length; k++) {
    const tp = c.tps[k] as number;
    const fp = c.fps[k] as number;
    ap += ((tp - prevTp) / c.positives) * (tp / (tp + fp));
    prevTp = tp;
  }
  return ap;
}

/** KS separation: max over thresholds of |TPR − FPR| (equals scipy's two-sample KS statistic between the classes' scores). */
export function ksSeparation(labels: NumericArray, scores: NumericArray): number {
  const c = rankCurve(labels, scores);
  needBothClasses(c, "KS separation");
  let best = 0;
  for (let k = 0; k < c.tps.length; k++) {
    const d = Math.abs((c.tps[k] as number) / c.positives - (c.fps[k] as number) / c.negatives);
    if (d > best) best = d;
  }
  return best;
}

/** Mean binary cross-entropy; probabilities clipped to [eps, 1 − eps] (sklearn's default eps 1e-15). */
export function logLoss(labels: NumericArray, probs: NumericArray, eps = 1e-15): number {
  checkPair(labels, probs, "probabilities");
  checkBinaryLabels(labels);
  checkProbabilities(probs);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    let p = probs[i] as number;
    if (p < eps) p = eps;
    else if (p > 1 - eps) p = 1 - eps;
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

function checkProbabilities(p: NumericArray): void {
  for (let i = 0; i < p.length; i++) {
    const v = p[i] as number;
    if (!(v >= 0 && v <= 1)) throw specError(`probabilities[${i}]`, v, "must be a probability in [0, 1]");
  }
}

/** Mean squared difference between probability and label. */
export function brierScore(labels: NumericArray, probs: NumericArray): number {
  checkPair(labels, probs, "probabilities");
  checkBinaryLabels(labels);
  checkProbabilities(probs);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const d = (probs[i] as number) - (labels[i] as number);
    sum += d * d;
  }
  return sum / labels.length;
}

export interface ConfusionMatrix {
  readonly tn: number;
  readonly fp: number;
  readonly fn: number;
  readonly tp: number;
}

/** A row is predicted positive when its score is ≥ `threshold`. */
export function confusionMatrix(labels: NumericArray, scores: NumericArray, threshold: number): ConfusionMatrix {
  checkPair(labels, scores);
  checkBinaryLabels(labels);
  if (!Number.isFinite(threshold)) throw specError("threshold", threshold, "must be a finite number");
  let tn = 0;
  let fp = 0;
  let fn = 0;
  let tp = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = (scores[i] as number) >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tn, fp, fn, tp };
}

export interface ThresholdMetrics {
  readonly threshold: number;
  readonly confusion: ConfusionMatrix;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** False negative rate: fn / (fn + tp). */
  readonly fnr: number;
  /** False positive rate: fp / (fp + tn). */
  readonly fpr: number;
}

/** A ratio whose denominator is 0 is 0, as sklearn's `zero_division` default reports it. */
function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

/** Accuracy, precision, recall, F1, FNR and FPR when scores ≥ `threshold` are called positive. */
export function thresholdMetrics(labels: NumericArray, scores: NumericArray, threshold: number): ThresholdMetrics {
  const m = confusionMatrix(labels, scores, threshold);
  const precision = ratio(m.tp, m.tp + m.fp);
  const recall = ratio(m.tp, m.tp + m.fn);
  return {
    threshold,
    confusion: m,
    accuracy: (m.tp + m.tn) / labels.length,
    precision,
    recall,
    f1: ratio(2 * m.tp, 2 * m.tp + m.fp + m.fn),
    fnr: ratio(m.fn, m.fn + m.tp),
    fpr: ratio(m.fp, m.fp + m.tn),
  };
}

export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean predicted probability in the bin (NaN when empty). */
  readonly meanPredicted: number;
  /** Fraction of positives in the bin (NaN when empty). */
  readonly fractionPositive: number;
}

export interface Calibration {
  /** Expected calibration error: Σ (n_b / n) · |meanPredicted_b − fractionPositive_b|. */
  readonly ece: number;
  readonly bins: readonly ReliabilityBin[];
}

/**
 * Reliability diagram over `nBins` equal-width bins of [0, 1], binned as sklearn's
 * `calibration_curve(strategy="uniform")`: a probability on an inner edge belongs to the lower bin.
 */
export function calibration(labels: NumericArray, probs: NumericArray, nBins = 10): Calibration {
  checkPair(labels, probs, "probabilities");
  checkBinaryLabels(labels);
  checkProbabilities(probs);
  if (!Number.isInteger(nBins) || nBins < 1) throw specError("nBins", nBins, "must be an integer ≥ 1");
  const step = 1 / nBins;
  const count = new Float64Array(nBins);
  const sumP = new Float64Array(nBins);
  const sumY = new Float64Array(nBins);
  for (let i = 0; i < labels.length; i++) {
    const p = probs[i] as number;
    let b = Math.min(nBins - 1, Math.floor(p * nBins));
    // Edges are i·(1/n) as numpy's linspace makes them; fix the floor's rounding against them.
    while (b > 0 && p <= b * step) b--;
    while (b < nBins - 1 && p > (b + 1) * step) b++;
    count[b] = (count[b] as number) + 1;
    sumP[b] = (sumP[b] as number) + p;
    sumY[b] = (sumY[b] as number) + (labels[i] as number);
  }
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  for (let b = 0; b < nBins; b++) {
    const n = count[b] as number;
    const meanPredicted = n === 0 ? NaN : (sumP[b] as number) / n;
    const fractionPositive = n === 0 ? NaN : (sumY[b] as number) / n;
    if (n > 0) ece += (n / labels.length) * Math.abs(meanPredicted - fractionPositive);
    bins.push({ lower: b * step, upper: (b + 1) * step, count: n, meanPredicted, fractionPositive });
  }
  return { ece, bins };
}
