import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import { delongPaired, mcnemar, normalTwoSidedCritical, rocAuc } from "../../src/stats/index.js";
import { thrown } from "../keel-error.js";

/** Numbers from R's pROC and mcnemar.test and from sklearn: test/fixtures/stats/make_paired_comparison.py. */
interface Case {
  name: string;
  labels: number[];
  scores_a: number[];
  scores_b: number[];
  threshold: number;
  sklearn_auc_a: number;
  sklearn_auc_b: number;
  proc: { auc_a: number; auc_b: number; z: number; p_value: number; ci_low: number; ci_high: number };
  mcnemar: { statistic: number; p_value: number };
}
const fx = JSON.parse(readFileSync(new URL("../fixtures/stats/paired-comparison.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

const relClose = (actual: number, expected: number, rel: number): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(Math.abs(expected), 1e-300));
};

describe("delongPaired equals pROC's roc.test(method = 'delong', paired = TRUE)", () => {
  for (const c of fx.cases) {
    it(c.name, () => {
      const y = Float64Array.from(c.labels);
      const a = Float64Array.from(c.scores_a);
      const b = Float64Array.from(c.scores_b);
      const r = delongPaired(y, a, b);
      expect(r.aucA).toBeCloseTo(c.sklearn_auc_a, 14);
      expect(r.aucB).toBeCloseTo(c.sklearn_auc_b, 14);
      expect(r.aucA).toBeCloseTo(rocAuc(y, a), 14);
      relClose(r.z, c.proc.z, 1e-10);
      relClose(r.pValue, c.proc.p_value, 1e-9);
      relClose(r.ciLow, c.proc.ci_low, 1e-9);
      relClose(r.ciHigh, c.proc.ci_high, 1e-9);
    });
  }

  it("swapping the models negates z and the interval and keeps p", () => {
    const c = fx.cases[0] as Case;
    const y = Float64Array.from(c.labels);
    const ab = delongPaired(y, Float64Array.from(c.scores_a), Float64Array.from(c.scores_b));
    const ba = delongPaired(y, Float64Array.from(c.scores_b), Float64Array.from(c.scores_a));
    expect(ba.z).toBeCloseTo(-ab.z, 12);
    expect(ba.pValue).toBeCloseTo(ab.pValue, 14);
    expect(ba.ciLow).toBeCloseTo(-ab.ciHigh, 12);
  });

  it("identical models give z = 0 and p = 1, as pROC", () => {
    const y = Float64Array.from([0, 0, 1, 1, 0, 1]);
    const s = Float64Array.from([0.1, 0.4, 0.35, 0.8, 0.2, 0.9]);
    const r = delongPaired(y, s, s);
    expect(r.z).toBe(0);
    expect(r.pValue).toBe(1);
  });

  it("names the field and the rule on bad input", () => {
    const e = thrown(
      () => delongPaired(Float64Array.from([1, 1, 0]), Float64Array.from([1, 2, 3]), Float64Array.from([1, 2, 3])),
      InvalidParameterError,
    );
    expect(e.message).toBe('labels = {"positives":2,"negatives":1}: needs at least two of each class');
    const f = thrown(() => delongPaired(Float64Array.from([1, 0]), Float64Array.from([1]), Float64Array.from([1, 2])));
    expect(f.message).toBe("scoresA.length = 1: must equal labels.length (2)");
  });
});

describe("mcnemar equals R's mcnemar.test(correct = TRUE) on decisions at the threshold", () => {
  for (const c of fx.cases) {
    it(c.name, () => {
      const y = Float64Array.from(c.labels);
      const da = Float64Array.from(c.scores_a, (s) => (s >= c.threshold ? 1 : 0));
      const db = Float64Array.from(c.scores_b, (s) => (s >= c.threshold ? 1 : 0));
      const r = mcnemar(y, da, db);
      relClose(r.statistic, c.mcnemar.statistic, 1e-12);
      relClose(r.pValue, c.mcnemar.p_value, 1e-9);
    });
  }

  it("no discordant pairs: statistic 0, p = 1", () => {
    const y = Float64Array.from([0, 1, 1]);
    expect(mcnemar(y, y, y)).toEqual({ aRightBWrong: 0, aWrongBRight: 0, statistic: 0, pValue: 1 });
  });
});

describe("normalTwoSidedCritical", () => {
  it("is qnorm(1 - alpha / 2)", () => {
    // R: qnorm(0.975), qnorm(0.995), qnorm(1 - 1e-6 / 2)
    relClose(normalTwoSidedCritical(0.05), 1.9599639845400536, 1e-14);
    relClose(normalTwoSidedCritical(0.01), 2.5758293035488999, 1e-14);
    // In the far tail the χ² survival function (a continued fraction) carries ~1e-11 relative error.
    relClose(normalTwoSidedCritical(1e-6), 4.8916384757147791, 1e-10);
  });
});
