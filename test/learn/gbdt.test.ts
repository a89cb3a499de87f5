import { describe, expect, it } from "vitest";
import { categoricalFromStrings, numericColumn } from "../../src/data/index.js";
import type { Column, Frame } from "../../src/data/index.js";
import { InvalidParameterError } from "../../src/errors.js";
import { trainGbdt } from "../../src/learn/gbdt/train.js";
import type { GbdtTrainResult } from "../../src/learn/gbdt/train.js";
import { ensembleToJson, KeelPredictor } from "../../src/learn/keel-model.js";
import type { KeelGbdtModel } from "../../src/learn/keel-model.js";
import { rocAuc } from "../../src/stats/classification.js";
import { uniform } from "./uniform.js";

/** A predictor over a trained ensemble, fed raw frames (numeric and categorical columns). */
function predictor(res: GbdtTrainResult, columns: readonly Column[], task: "binary" | "regression"): KeelPredictor {
  const model: KeelGbdtModel = {
    format: "keel",
    format_version: 1,
    task,
    signature: { inputs: [], outputs: [] },
    target: { name: "y" },
    params: {},
    model_type: "gbdt",
    features: res.features.map((f) =>
      f.kind === "categorical"
        ? { name: f.name, kind: f.kind, categories: f.dictionary ?? [] }
        : { name: f.name, kind: f.kind },
    ),
    ensemble: ensembleToJson(res.ensemble),
    n_trees: res.nTrees,
    best_iteration: res.bestIteration,
    importance: res.importance,
  };
  expect(columns.length).toBe(model.features.length);
  return new KeelPredictor(model);
}

function frameOf(columns: Column[]): Frame {
  return {
    nRows: columns[0]?.kind === "numeric" ? columns[0].values.length : (columns[0]?.codes.length ?? 0),
    columns,
  };
}

describe("trainGbdt", () => {
  it("fits a stump exactly: split between the two groups, leaves at the group means", async () => {
    const x = Float64Array.from({ length: 10 }, (_, i) => i + 1);
    const y = x.map((v) => (v <= 5 ? 1 : 3));
    const res = await trainGbdt({
      features: [numericColumn("x", x)],
      nRows: 10,
      y,
      objective: "regression",
      params: { n_estimators: 1, max_depth: 1, learning_rate: 1, lambda: 0, min_child_weight: 0 },
    });
    // base = mean 2; left gradient sum 5, hessian 5 → weight -1; right +1; cut at the first value of the right group.
    expect(res.ensemble.baseScore).toBe(2);
    expect(Array.from(res.ensemble.feature)).toEqual([0, -1, -1]);
    expect(res.ensemble.threshold[0]).toBe(6);
    expect(Array.from(res.ensemble.value.subarray(1))).toEqual([-1, 1]);
    const p = await predictor(res, [numericColumn("x", x)], "regression").predict(frameOf([numericColumn("x", x)]));
    expect(Array.from(p)).toEqual(Array.from(y));
  });

  it("learns a known regression function", async () => {
    const r = uniform(1);
    const n = 4000;
    const x0 = Float64Array.from({ length: n }, () => r());
    const x1 = Float64Array.from({ length: n }, () => r());
    const y = Float64Array.from(
      { length: n },
      (_, i) => 3 * (x0[i] as number) + Math.sin(6 * (x1[i] as number)) + 0.05 * (r() - 0.5),
    );
    const cols = [numericColumn("x0", x0.subarray(0, 3000)), numericColumn("x1", x1.subarray(0, 3000))];
    const res = await trainGbdt({
      features: cols,
      nRows: 3000,
      y: y.subarray(0, 3000),
      objective: "regression",
      params: { n_estimators: 200, max_depth: 4 },
    });
    const test = [numericColumn("x0", x0.slice(3000)), numericColumn("x1", x1.slice(3000))];
    const p = await predictor(res, test, "regression").predict(frameOf(test));
    let sse = 0;
    let sst = 0;
    const yt = y.subarray(3000);
    const mean = yt.reduce((a, b) => a + b, 0) / yt.length;
    yt.forEach((v, i) => {
      sse += (v - (p[i] as number)) ** 2;
      sst += (v - mean) ** 2;
    });
    expect(1 - sse / sst).toBeGreaterThan(0.98);
  });

  it("learns a logistic model about as well as the true probabilities rank", async () => {
    const r = uniform(2);
    const n = 20000;
    const a = Float64Array.from({ length: n }, () => r() * 4 - 2);
    const b = Float64Array.from({ length: n }, () => r() * 4 - 2);
    const prob = a.map((v, i) => 1 / (1 + Math.exp(-(1.5 * v - (b[i] as number) ** 2 + 1))));
    const y = prob.map((p) => (r() < p ? 1 : 0));
    const m = 15000;
    const res = await trainGbdt({
      features: [numericColumn("a", a.slice(0, m)), numericColumn("b", b.slice(0, m))],
      nRows: m,
      y: y.slice(0, m),
      objective: "binary",
      params: { n_estimators: 150, max_depth: 3, learning_rate: 0.1 },
    });
    const test = [numericColumn("a", a.slice(m)), numericColumn("b", b.slice(m))];
    const p = await predictor(res, test, "binary").predict(frameOf(test));
    const bayes = rocAuc(y.slice(m), prob.slice(m));
    expect(rocAuc(y.slice(m), p)).toBeGreaterThan(bayes - 0.01);
    expect(res.importance.gain.a).toBeGreaterThan(0);
    expect(res.importance.split.a).toBeGreaterThan(0);
  });

  it("sends missing values the learned way", async () => {
    const r = uniform(3);
    const n = 5000;
    const x = Float64Array.from({ length: n }, () => r());
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (i % 5 === 0) {
        x[i] = NaN;
        y[i] = 1; // missing means "bad" here, although low values are "good"
      } else y[i] = (x[i] as number) > 0.7 ? 1 : 0;
    }
    const cols = [numericColumn("x", x)];
    const res = await trainGbdt({
      features: cols,
      nRows: n,
      y,
      objective: "binary",
      params: { n_estimators: 30, max_depth: 2, learning_rate: 0.3 },
    });
    const probe = [numericColumn("x", Float64Array.from([NaN, 0.1, 0.9]))];
    const p = await predictor(res, probe, "binary").predict(frameOf(probe));
    expect(p[0]).toBeGreaterThan(0.9);
    expect(p[1]).toBeLessThan(0.1);
    expect(p[2]).toBeGreaterThan(0.9);
  });

  it("splits categorical features natively; unknown categories score like missing ones", async () => {
    const r = uniform(4);
    const n = 6000;
    const cats = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const good = new Set(["a", "c", "f"]);
    const labels = Array.from({ length: n }, () => cats[Math.floor(r() * 8)] as string);
    const y = Float64Array.from(labels, (c) => (r() < (good.has(c) ? 0.9 : 0.1) ? 1 : 0));
    const col = categoricalFromStrings("cat", labels);
    const res = await trainGbdt({
      features: [col],
      nRows: n,
      y,
      objective: "binary",
      params: { n_estimators: 20, max_depth: 2, learning_rate: 0.3 },
    });
    expect(res.ensemble.categorical).toBeDefined();
    const probe = [categoricalFromStrings("cat", [...cats, "zzz", null])];
    const p = await predictor(res, probe, "binary").predict(frameOf(probe));
    cats.forEach((c, i) => (good.has(c) ? expect(p[i]).toBeGreaterThan(0.8) : expect(p[i]).toBeLessThan(0.2)));
    expect(p[8]).toBe(p[9]);
  });

  it("stops early on the validation set and keeps the best prefix", async () => {
    const r = uniform(5);
    const n = 3000;
    const x = Float64Array.from({ length: n }, () => r());
    const noise = Float64Array.from({ length: n }, () => r());
    const y = x.map((v) => (r() < 0.3 + 0.4 * v ? 1 : 0));
    const res = await trainGbdt({
      features: [numericColumn("x", x.slice(0, 2000)), numericColumn("noise", noise.slice(0, 2000))],
      nRows: 2000,
      y: y.slice(0, 2000),
      objective: "binary",
      params: { n_estimators: 500, max_depth: 6, learning_rate: 0.3, early_stopping_rounds: 10 },
      valid: {
        features: [numericColumn("x", x.slice(2000)), numericColumn("noise", noise.slice(2000))],
        nRows: 1000,
        y: y.slice(2000),
      },
    });
    expect(res.nTrees).toBeLessThan(500);
    expect(res.nTrees).toBe(res.bestIteration + 1);
    expect(res.history.length).toBe(res.nTrees + 10);
    const aucs = res.history.map((h) => h.auc as number);
    expect(Math.max(...aucs)).toBe(aucs[res.bestIteration]);
    expect(res.ensemble.treeOffsets.length).toBe(res.nTrees + 1);
  });

  it("names the parameter and the rule on bad parameters", async () => {
    const cols = [numericColumn("x", Float64Array.from([1, 2, 3]))];
    const y = Float64Array.from([0, 1, 0]);
    const run = (params: Record<string, unknown>) =>
      trainGbdt({ features: cols, nRows: 3, y, objective: "binary", params });
    await expect(run({ learning_rate: 0 })).rejects.toThrow(/param learning_rate = 0: number in \(0, 1\]/);
    await expect(run({ max_depth: "deep" })).rejects.toThrow(/max_depth = "deep"/);
    await expect(run({ monotone_constraints: "x:2" })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(run({ monotone_constraints: "nope:1" })).rejects.toThrow(/no such feature/);
    await expect(run({ etaa: 1 })).rejects.toThrow(/unknown GBDT parameter/);
  });
});
