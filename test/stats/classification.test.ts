import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  averagePrecision,
  brierScore,
  calibration,
  ksSeparation,
  logLoss,
  rocAuc,
  thresholdMetrics,
} from "../../src/stats/classification.js";
import { regressionMetrics } from "../../src/stats/regression.js";
import { InvalidParameterError } from "../../src/errors.js";

/** Expected values come from sklearn / scipy: test/fixtures/metrics/make_metrics.py. */
interface BinaryCase {
  name: string;
  labels: number[];
  scores: number[];
  threshold: number;
  auc: number;
  average_precision: number;
  ks: number;
  log_loss: number;
  brier: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusion: { tn: number; fp: number; fn: number; tp: number };
  calibration_prob_true: number[];
  calibration_prob_pred: number[];
}

const fixtures = new URL("../fixtures/metrics/", import.meta.url);
const cases = JSON.parse(readFileSync(new URL("binary.json", fixtures), "utf8")) as BinaryCase[];

describe.each(cases)("binary metrics vs sklearn ($name)", (c) => {
  const y = Uint8Array.from(c.labels);
  const p = Float64Array.from(c.scores);

  it("ranks: ROC-AUC, average precision, KS", () => {
    expect(Math.abs(rocAuc(y, p) - c.auc)).toBeLessThan(1e-12);
    expect(Math.abs(averagePrecision(y, p) - c.average_precision)).toBeLessThan(1e-12);
    expect(Math.abs(ksSeparation(y, p) - c.ks)).toBeLessThan(1e-12);
  });

  it("probabilities: log-loss and Brier", () => {
    expect(Math.abs(logLoss(y, p) - c.log_loss)).toBeLessThan(1e-12);
    expect(Math.abs(brierScore(y, p) - c.brier)).toBeLessThan(1e-12);
  });

  it("threshold metrics and confusion matrix", () => {
    const m = thresholdMetrics(y, p, c.threshold);
    expect(m.confusion).toEqual(c.confusion);
    expect(m.accuracy).toBeCloseTo(c.accuracy, 12);
    expect(m.precision).toBeCloseTo(c.precision, 12);
    expect(m.recall).toBeCloseTo(c.recall, 12);
    expect(m.f1).toBeCloseTo(c.f1, 12);
    const { tn, fp, fn, tp } = c.confusion;
    expect(m.fnr).toBeCloseTo(fn / (fn + tp), 12);
    expect(m.fpr).toBeCloseTo(fp / (fp + tn), 12);
  });

  it("reliability bins as calibration_curve", () => {
    const cal = calibration(y, p, 10);
    const filled = cal.bins.filter((b) => b.count > 0);
    expect(filled.map((b) => b.fractionPositive)).toHaveLength(c.calibration_prob_true.length);
    filled.forEach((b, i) => {
      expect(b.fractionPositive).toBeCloseTo(c.calibration_prob_true[i] ?? NaN, 12);
      expect(b.meanPredicted).toBeCloseTo(c.calibration_prob_pred[i] ?? NaN, 12);
    });
    // ECE recomputed from sklearn's bins, weighted by our counts (which sum to n).
    const ece = filled.reduce(
      (s, b, i) =>
        s + (b.count / y.length) * Math.abs((c.calibration_prob_pred[i] ?? 0) - (c.calibration_prob_true[i] ?? 0)),
      0,
    );
    expect(cal.ece).toBeCloseTo(ece, 12);
    expect(filled.reduce((s, b) => s + b.count, 0)).toBe(y.length);
  });
});

describe("metric edge cases", () => {
  it("counts a fully tied pair as half", () => {
    expect(rocAuc(Uint8Array.from([0, 1]), Float64Array.from([0.5, 0.5]))).toBe(0.5);
    expect(rocAuc(Uint8Array.from([0, 0, 1, 1]), Float64Array.from([0.1, 0.4, 0.35, 0.8]))).toBe(0.75);
  });

  it("rejects bad labels, mismatched lengths and a single class, naming the field", () => {
    expect(() => rocAuc(Uint8Array.from([0, 2]), Float64Array.from([0.1, 0.2]))).toThrow(/labels\[1\] = 2/);
    expect(() => rocAuc(Uint8Array.from([0, 1]), Float64Array.from([0.1]))).toThrow(/scores.length/);
    expect(() => rocAuc(Uint8Array.from([1, 1]), Float64Array.from([0.1, 0.2]))).toThrow(InvalidParameterError);
    expect(() => logLoss(Uint8Array.from([1]), Float64Array.from([1.5]))).toThrow(/probabilities\[0\]/);
  });
});

describe("regression metrics vs sklearn", () => {
  const r = JSON.parse(readFileSync(new URL("regression.json", fixtures), "utf8")) as {
    actual: number[];
    predicted: number[];
    mae: number;
    rmse: number;
    r2: number;
  };
  it("MAE, RMSE, R²", () => {
    const m = regressionMetrics(Float64Array.from(r.actual), Float64Array.from(r.predicted));
    expect(m.mae).toBeCloseTo(r.mae, 12);
    expect(m.rmse).toBeCloseTo(r.rmse, 12);
    expect(m.r2).toBeCloseTo(r.r2, 12);
  });
});
