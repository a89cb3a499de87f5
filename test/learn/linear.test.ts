import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { prepareTarget, readTable, selectColumns } from "../../src/data/index.js";
import { predictLinear, trainLinear } from "../../src/learn/linear/train.js";
import type { LinearTerm } from "../../src/learn/linear/train.js";

/** sklearn reference: make_linear_fixture.py (SimpleImputer(mean) → StandardScaler, OneHotEncoder, LogisticRegression / Ridge). */
interface Ref {
  numeric: string[];
  categorical: string[];
  [k: string]: unknown;
}
const ref = JSON.parse(readFileSync("test/fixtures/learn/linear_sklearn.json", "utf8")) as Ref;
const data = await readTable("test/fixtures/learn/linear_churn.csv");
const X = selectColumns(data, [...ref.numeric, ...ref.categorical]);

/** keel's terms flattened in sklearn's column order: numerics, then each one-hot block. */
function flatCoef(terms: readonly LinearTerm[]): number[] {
  const num = terms.filter((t) => t.kind === "numeric").map((t) => t.coef);
  const cat = terms.flatMap((t) => (t.kind === "categorical" ? t.coef : []));
  return [...num, ...cat];
}

describe("trainLinear", () => {
  for (const l2 of [1, 10]) {
    it(`matches sklearn LogisticRegression(C=1/${l2}) with imputation, scaling and one-hot`, () => {
      const expected = ref[`logistic_l2_${l2}`] as { coef: number[]; intercept: number; proba_first5: number[] };
      const y = prepareTarget(data, "churn", { positive: "yes" }).y;
      const m = trainLinear(X, y, "binary", { l2 });
      const coef = flatCoef(m.terms);
      expect(coef.length).toBe(expected.coef.length);
      coef.forEach((c, i) => expect(c).toBeCloseTo(expected.coef[i] as number, 7));
      expect(m.intercept).toBeCloseTo(expected.intercept, 7);
      const p = predictLinear(m, data);
      expected.proba_first5.forEach((v, i) => expect(p[i]).toBeCloseTo(v, 8));
    });
  }

  it("matches sklearn Ridge(alpha=1) for a numeric target", () => {
    const expected = ref.ridge_l2_1 as { coef: number[]; intercept: number };
    const y = prepareTarget(data, "total_intl_charge").y;
    const m = trainLinear(X, y, "regression", { l2: 1 });
    flatCoef(m.terms).forEach((c, i) => expect(c).toBeCloseTo(expected.coef[i] as number, 8));
    expect(m.intercept).toBeCloseTo(expected.intercept, 8);
  });

  it("records the imputation and scores a null as the training mean", () => {
    const y = prepareTarget(data, "churn").y;
    const m = trainLinear(X, y, "binary");
    const acc = m.terms.find((t) => t.name === "account_length");
    if (acc?.kind !== "numeric") throw new Error("account_length");
    const col = data.columns.find((c) => c.name === "account_length");
    if (col?.kind !== "numeric") throw new Error("col");
    const vals = Array.from(col.values).filter((v) => !Number.isNaN(v));
    expect(acc.impute).toBeCloseTo(vals.reduce((a, b) => a + b, 0) / vals.length, 10);
    // Row 3 has a null account_length (fixture rule: index % 17 == 3): its score equals the score with the mean filled in.
    const filled = {
      nRows: data.nRows,
      columns: data.columns.map((c) =>
        c.name === "account_length" && c.kind === "numeric"
          ? { ...c, values: c.values.map((v) => (Number.isNaN(v) ? acc.impute : v)) }
          : c,
      ),
    };
    expect(predictLinear(m, data)[3]).toBeCloseTo(predictLinear(m, filled)[3] as number, 12);
  });

  it("rejects unknown parameters by name", () => {
    const y = prepareTarget(data, "churn").y;
    expect(() => trainLinear(X, y, "binary", { C: 1 })).toThrow(/param C = 1: unknown/);
    expect(() => trainLinear(X, y, "binary", { l2: -1 })).toThrow(/param l2 = -1: must be ≥ 0/);
  });
});
