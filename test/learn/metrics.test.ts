import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evaluateBinary, evaluateRegression } from "../../src/learn/metrics.js";

/** Expected values from sklearn: test/fixtures/metrics/make_metrics.py. */
const fixtures = new URL("../fixtures/metrics/", import.meta.url);

describe("evaluateBinary", () => {
  it("collects every binary metric as sklearn computes it", () => {
    const [c] = JSON.parse(readFileSync(new URL("binary.json", fixtures), "utf8")) as {
      labels: number[];
      scores: number[];
      threshold: number;
      auc: number;
      average_precision: number;
      ks: number;
      log_loss: number;
      brier: number;
      f1: number;
      confusion: { tn: number; fp: number; fn: number; tp: number };
    }[];
    if (c === undefined) throw new Error("fixture binary.json is empty");
    const e = evaluateBinary(Uint8Array.from(c.labels), Float64Array.from(c.scores), c.threshold);
    expect(e.n).toBe(c.labels.length);
    expect(e.positives).toBe(c.confusion.tp + c.confusion.fn);
    expect(Math.abs(e.auc - c.auc)).toBeLessThan(1e-12);
    expect(Math.abs(e.prAuc - c.average_precision)).toBeLessThan(1e-12);
    expect(e.ks).toBeCloseTo(c.ks, 12);
    expect(e.logLoss).toBeCloseTo(c.log_loss, 12);
    expect(e.brier).toBeCloseTo(c.brier, 12);
    expect(e.f1).toBeCloseTo(c.f1, 12);
    expect(e.confusion).toEqual(c.confusion);
    expect(e.calibrationBins).toHaveLength(10);
  });

  it("evaluates a regression", () => {
    const r = JSON.parse(readFileSync(new URL("regression.json", fixtures), "utf8")) as {
      actual: number[];
      predicted: number[];
      r2: number;
    };
    expect(evaluateRegression(Float64Array.from(r.actual), Float64Array.from(r.predicted)).r2).toBeCloseTo(r.r2, 12);
  });
});
