import { InvalidParameterError } from "../errors.js";
import {
  brierScore,
  calibration,
  delongPaired,
  ksSeparation,
  logLoss,
  mcnemar,
  rocAuc,
  thresholdMetrics,
  verdictOf,
  type NumericArray,
  type Verdict,
} from "../stats/index.js";
import { specError } from "../spec-fields.js";

export { verdictOf, type Verdict } from "../stats/index.js";

/** One model's positive-class probabilities on the evaluation rows. */
export interface ScoredModel {
  readonly model: string;
  readonly scores: Float64Array;
}

/** Rows split by the values of one column (`keel evaluate --segment COL`). */
export interface Segmentation {
  readonly column: string;
  /** Segment index per row; −1 leaves the row out (a missing value). */
  readonly codes: Int32Array;
  readonly names: readonly string[];
}

export interface ModelMetrics {
  readonly rows: number;
  readonly positives: number;
  /** NaN where the rows hold one class only. */
  readonly auc: number;
  readonly ks: number;
  readonly logLoss: number;
  readonly brier: number;
  readonly fnr: number;
  readonly fpr: number;
  readonly precision: number;
  readonly recall: number;
  /** Expected calibration error over 10 equal-width bins. */
  readonly calibrationError: number;
}

export interface ModelReport extends ModelMetrics {
  readonly model: string;
  readonly segments?: readonly (ModelMetrics & { readonly segment: string })[];
}

/** A model against the baseline (the first model) on the same rows. */
export interface ModelComparison {
  /** The candidate. */
  readonly a: string;
  /** The baseline. */
  readonly b: string;
  /** AUC(a) − AUC(b). */
  readonly aucDifference: number;
  readonly ciLow: number;
  readonly ciHigh: number;
  readonly pValue: number;
  readonly method: "delong";
  /** McNemar's test on the decisions at the threshold. */
  readonly mcnemarPValue: number;
  readonly verdict: Verdict;
}

export interface EvaluationReport {
  readonly threshold: number;
  readonly alpha: number;
  readonly minEffect: number;
  readonly models: readonly ModelReport[];
  readonly comparisons: readonly ModelComparison[];
}

export interface CompareModelsOptions {
  readonly threshold?: number;
  /** Significance level of the comparisons (default 0.05). */
  readonly alpha?: number;
  /** The smallest AUC gain that counts as better (default 0). */
  readonly minEffect?: number;
  readonly segmentation?: Segmentation;
}

/** Ranking metrics need both classes; a segment may hold one, and then they are NaN. */
function metricsOf(labels: NumericArray, scores: Float64Array, threshold: number): ModelMetrics {
  const t = thresholdMetrics(labels, scores, threshold);
  const positives = t.confusion.tp + t.confusion.fn;
  const both = positives > 0 && positives < labels.length;
  return {
    rows: labels.length,
    positives,
    auc: both ? rocAuc(labels, scores) : NaN,
    ks: both ? ksSeparation(labels, scores) : NaN,
    logLoss: logLoss(labels, scores),
    brier: brierScore(labels, scores),
    fnr: t.fnr,
    fpr: t.fpr,
    precision: t.precision,
    recall: t.recall,
    calibrationError: calibration(labels, scores, 10).ece,
  };
}

/** One segment's rows (in row order) and their labels, gathered once and shared by every model. */
interface SegmentRows {
  readonly segment: string;
  readonly rows: Int32Array;
  readonly labels: Float64Array;
}

/** The non-empty segments, in segment order. */
function segmentRows(labels: NumericArray, seg: Segmentation): SegmentRows[] {
  const counts = new Int32Array(seg.names.length);
  for (let i = 0; i < seg.codes.length; i++) {
    const c = seg.codes[i] as number;
    if (c >= 0) counts[c] = (counts[c] as number) + 1;
  }
  const out: SegmentRows[] = [];
  for (let s = 0; s < seg.names.length; s++) {
    const n = counts[s] as number;
    if (n === 0) continue;
    const rows = new Int32Array(n);
    const y = new Float64Array(n);
    let k = 0;
    for (let i = 0; i < seg.codes.length; i++) {
      if (seg.codes[i] !== s) continue;
      rows[k] = i;
      y[k++] = labels[i] as number;
    }
    out.push({ segment: seg.names[s] as string, rows, labels: y });
  }
  return out;
}

function segmentMetrics(
  segments: readonly SegmentRows[],
  scores: Float64Array,
  threshold: number,
): (ModelMetrics & { segment: string })[] {
  return segments.map(({ segment, rows, labels }) => {
    const p = Float64Array.from(rows, (i) => scores[i] as number);
    return { segment, ...metricsOf(labels, p, threshold) };
  });
}

function decisions(scores: Float64Array, threshold: number): Uint8Array {
  const d = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) d[i] = (scores[i] as number) >= threshold ? 1 : 0;
  return d;
}

/**
 * Metrics of every model on the same labelled rows and, with two or more, each later model
 * compared with the first (the baseline): DeLong's paired test on the AUCs and McNemar's test
 * on the decisions at the threshold.
 */
export function compareModels(
  labels: NumericArray,
  scored: readonly ScoredModel[],
  options: CompareModelsOptions = {},
): EvaluationReport {
  const threshold = options.threshold ?? 0.5;
  const alpha = options.alpha ?? 0.05;
  const minEffect = options.minEffect ?? 0;
  if (!(threshold >= 0 && threshold <= 1)) throw specError("threshold", threshold, "must be in [0, 1]");
  if (!(alpha > 0 && alpha < 1)) throw specError("alpha", alpha, "must be in (0, 1)");
  if (!(minEffect >= 0 && minEffect < 1)) throw specError("minEffect", minEffect, "must be in [0, 1)");
  if (scored.length === 0) throw new InvalidParameterError("models: at least one model is needed");
  const segments = options.segmentation === undefined ? undefined : segmentRows(labels, options.segmentation);
  const models: ModelReport[] = scored.map((m) => ({
    model: m.model,
    ...metricsOf(labels, m.scores, threshold),
    ...(segments === undefined ? {} : { segments: segmentMetrics(segments, m.scores, threshold) }),
  }));
  const baseline = scored[0] as ScoredModel;
  const baselineDecisions = decisions(baseline.scores, threshold);
  const comparisons: ModelComparison[] = scored.slice(1).map((m) => {
    const d = delongPaired(labels, m.scores, baseline.scores, 1 - alpha);
    return {
      a: m.model,
      b: baseline.model,
      aucDifference: d.difference,
      ciLow: d.ciLow,
      ciHigh: d.ciHigh,
      pValue: d.pValue,
      method: "delong",
      mcnemarPValue: mcnemar(labels, decisions(m.scores, threshold), baselineDecisions).pValue,
      verdict: verdictOf(d.ciLow, d.ciHigh, minEffect),
    };
  });
  return { threshold, alpha, minEffect, models, comparisons };
}
