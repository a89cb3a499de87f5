import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { prepareTarget, readTable, selectColumns } from "../../src/data/index.js";
import type { Frame, NumericColumn } from "../../src/data/index.js";
import { trainGbdt, weightGradients } from "../../src/learn/gbdt/train.js";
import { KeelPredictor, ensembleToJson, type KeelGbdtModel } from "../../src/learn/keel-model.js";
import { trainLinear, type LinearTerm } from "../../src/learn/linear/train.js";
import { trainModel } from "../../src/learn/train.js";

/** References from make_weighted_fixture.py (XGBoost 1.7 hist, sklearn LogisticRegression). */
interface Boosted {
  scale_pos_weight: number;
  base_score: number;
  proba_first300: number[];
}
const ref = JSON.parse(readFileSync("test/fixtures/learn/weighted_reference.json", "utf8")) as Record<string, unknown>;
const data = await readTable("test/fixtures/learn/weighted_binary.csv");
const y = (data.columns.find((c) => c.name === "y") as NumericColumn).values;
const X = selectColumns(data, ["x1", "x2"]);
/** The generator's sample weights: 1 + (row mod 3). */
const sampleWeights = Float64Array.from({ length: data.nRows }, (_, i) => 1 + (i % 3));

async function boostedScores(params: Record<string, unknown>, weights?: Float64Array): Promise<Float64Array> {
  const res = await trainGbdt({
    features: X.columns,
    nRows: X.nRows,
    y,
    objective: "binary",
    params: { n_estimators: 5, max_depth: 3, learning_rate: 0.3, lambda: 1, min_child_weight: 1, ...params },
    ...(weights === undefined ? {} : { weights }),
  });
  const model: KeelGbdtModel = {
    format: "keel",
    format_version: 1,
    task: "binary",
    signature: { inputs: [], outputs: [] },
    target: { name: "y" },
    params: {},
    model_type: "gbdt",
    features: res.features.map((f) => ({ name: f.name, kind: "numeric" as const })),
    ensemble: ensembleToJson(res.ensemble),
    n_trees: res.nTrees,
    best_iteration: res.bestIteration,
    importance: res.importance,
  };
  const predictor = new KeelPredictor(model);
  try {
    return await predictor.predict(X);
  } finally {
    await predictor.close();
  }
}

describe("class imbalance in the GBDT trainer", () => {
  for (const [name, spw, weights] of [
    ["xgboost_scale_pos_weight_4", 4, undefined],
    ["xgboost_sample_weight", 1, sampleWeights],
    ["xgboost_both", 4, sampleWeights],
  ] as const) {
    it(`scores as XGBoost does with the same weights (${name})`, async () => {
      const expected = ref[name] as Boosted;
      expect(expected.scale_pos_weight).toBe(spw);
      const scores = await boostedScores({ scale_pos_weight: spw }, weights);
      // XGBoost sums gradients in float32: agreement to 1e-5, not to the last bit.
      expected.proba_first300.forEach((p, i) => expect(scores[i], `row ${i}`).toBeCloseTo(p, 5));
    });
  }

  it("weights each row's gradient and hessian as a direct computation does", () => {
    const n = 7;
    const margin = Float64Array.from({ length: n }, (_, i) => (i - 3) / 2);
    const labels = Float64Array.from({ length: n }, (_, i) => i % 2);
    const w = Float64Array.from({ length: n }, (_, i) => (labels[i] === 1 ? 4 : 1) * (1 + (i % 3)));
    const gh = new Float64Array(2 * n);
    const idx = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
    for (let r = 0; r < n; r++) {
      const p = 1 / (1 + Math.exp(-margin[r]!));
      gh[2 * r] = p - labels[r]!;
      gh[2 * r + 1] = p * (1 - p);
    }
    weightGradients(gh, idx, n, w);
    for (let r = 0; r < n; r++) {
      const p = 1 / (1 + Math.exp(-margin[r]!));
      // d/dz of w · logloss(y, σ(z)) and its second derivative
      expect(gh[2 * r]).toBeCloseTo(w[r]! * (p - labels[r]!), 15);
      expect(gh[2 * r + 1]).toBeCloseTo(w[r]! * p * (1 - p), 15);
    }
  });

  it("raises the predicted positive share with scale_pos_weight, refuses a bad weight", async () => {
    const plain = await boostedScores({});
    const weighted = await boostedScores({ scale_pos_weight: 4 });
    const mean = (s: Float64Array) => s.reduce((a, b) => a + b, 0) / s.length;
    expect(mean(weighted)).toBeGreaterThan(mean(plain) + 0.1);
    await expect(boostedScores({ scale_pos_weight: 0 })).rejects.toThrow("param scale_pos_weight = 0: number > 0");
    const bad = Float64Array.from(sampleWeights, (v, i) => (i === 5 ? -1 : v));
    await expect(boostedScores({}, bad)).rejects.toThrow("weights[5] = -1: sample weights must be finite and ≥ 0");
  });
});

const churn = await readTable("test/fixtures/learn/linear_churn.csv");

describe("class imbalance in the linear trainer", () => {
  const cols = selectColumns(churn, [
    "account_length",
    "total_day_minutes",
    "total_eve_minutes",
    "number_customer_service_calls",
    "international_plan",
    "area_code",
  ]);
  const yc = prepareTarget(churn, "churn", { positive: "yes" }).y;
  const flat = (terms: readonly LinearTerm[]) => [
    ...terms.filter((t) => t.kind === "numeric").map((t) => t.coef),
    ...terms.flatMap((t) => (t.kind === "categorical" ? t.coef : [])),
  ];
  for (const [name, params, weights] of [
    ["logistic_class_weight_3", { scale_pos_weight: 3 }, undefined],
    ["logistic_sample_weight", {}, Float64Array.from({ length: churn.nRows }, (_, i) => 1 + (i % 3))],
  ] as const) {
    it(`matches sklearn's LogisticRegression (${name})`, () => {
      const expected = ref[name] as { coef: number[]; intercept: number };
      const m = trainLinear(cols, yc, "binary", { l2: 1, ...params }, weights);
      flat(m.terms).forEach((c, i) => expect(c, `coef ${i}`).toBeCloseTo(expected.coef[i]!, 6));
      expect(m.intercept).toBeCloseTo(expected.intercept, 6);
    });
  }
});

describe("trainModel with a weight column", () => {
  it("takes sample weights from a column, which is not a feature", async () => {
    const frame: Frame = {
      nRows: data.nRows,
      columns: [...data.columns, { kind: "numeric", name: "w", values: sampleWeights }],
    };
    const r = await trainModel(frame, {
      target: "y",
      weightColumn: "w",
      validFraction: 0,
      params: { n_estimators: 5, max_depth: 3, learning_rate: 0.3, min_child_weight: 1 },
    });
    expect(r.roles.features).toEqual(["x1", "x2"]);
    const direct = await boostedScores({}, sampleWeights);
    const predictor = new KeelPredictor(r.model);
    const scores = await predictor.predict(X);
    await predictor.close();
    scores.forEach((s, i) => expect(s).toBeCloseTo(direct[i]!, 12));
  });
});
