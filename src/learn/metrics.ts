import {
  averagePrecision,
  brierScore,
  calibration,
  ksSeparation,
  logLoss,
  rocAuc,
  thresholdMetrics,
  type ConfusionMatrix,
  type NumericArray,
  type ReliabilityBin,
  regressionMetrics,
  type RegressionMetrics,
} from "../stats/index.js";

export {
  averagePrecision,
  brierScore,
  calibration,
  confusionMatrix,
  ksSeparation,
  logLoss,
  rankCurve,
  rocAuc,
  thresholdMetrics,
  regressionMetrics,
} from "../stats/index.js";
export type {
  Calibration,
  ConfusionMatrix,
  NumericArray,
  RankCurve,
  ReliabilityBin,
  ThresholdMetrics,
  RegressionMetrics,
} from "../stats/index.js";

export interface BinaryEvaluation {
  readonly n: number;
  readonly positives: number;
  readonly auc: number;
  /** Average precision (area under the precision-recall curve, as sklearn). */
  readonly prAuc: number;
  readonly ks: number;
  readonly logLoss: number;
  readonly brier: number;
  readonly threshold: number;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly fnr: number;
  readonly fpr: number;
  readonly confusion: ConfusionMatrix;
  readonly ece: number;
  readonly calibrationBins: readonly ReliabilityBin[];
}

/** Every binary metric keel reports, for labels (0/1) and positive-class probabilities. */
export function evaluateBinary(labels: NumericArray, probs: NumericArray, threshold = 0.5): BinaryEvaluation {
  const t = thresholdMetrics(labels, probs, threshold);
  const cal = calibration(labels, probs, 10);
  return {
    n: labels.length,
    positives: t.confusion.tp + t.confusion.fn,
    auc: rocAuc(labels, probs),
    prAuc: averagePrecision(labels, probs),
    ks: ksSeparation(labels, probs),
    logLoss: logLoss(labels, probs),
    brier: brierScore(labels, probs),
    threshold,
    accuracy: t.accuracy,
    precision: t.precision,
    recall: t.recall,
    f1: t.f1,
    fnr: t.fnr,
    fpr: t.fpr,
    confusion: t.confusion,
    ece: cal.ece,
    calibrationBins: cal.bins,
  };
}

/** MAE, RMSE and R² of a regression. */
export function evaluateRegression(actual: NumericArray, predicted: NumericArray): RegressionMetrics {
  return regressionMetrics(actual, predicted);
}
