import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { categoricalFromStrings, numericColumn } from "../../../src/data/index.js";
import type { Column, Frame } from "../../../src/data/index.js";
import { compileEnsemble, scoreMarginsKernel } from "../../../src/learn/tree-ensemble.js";
import type { TreeEnsemble } from "../../../src/learn/tree-ensemble.js";
import { TreeShap } from "../../../src/learn/explain/tree-shap.js";
import { treeExplainer } from "../../../src/learn/explain/explainer.js";
import { trainGbdt } from "../../../src/learn/gbdt/train.js";
import { frameToMatrix } from "../../../src/learn/ensemble-predictor.js";
import { parseLightGBMText } from "../../../src/learn/lightgbm-model.js";
import { parseXGBoostJson } from "../../../src/learn/xgboost-model.js";
import { fixtureFrame, modelPath, readFixture } from "../fixture-frame.js";
import type { ModelFixture } from "../fixture-frame.js";
import { bruteForceShap } from "./shap-oracle.js";
import { uniform } from "../uniform.js";

const EXPLAIN_DIR = new URL("../../fixtures/explain/", import.meta.url);

/** XGBoost's own pred_contribs for a model (test/fixtures/explain/make_explain_fixtures.py). */
interface ContribFixture {
  model: string;
  features: string[];
  columns: Record<string, (number | null)[]>;
  contribs: number[][];
  margins: number[];
}

function readContribs(model: string): ContribFixture {
  return JSON.parse(readFileSync(new URL(`${model}.contribs.json`, EXPLAIN_DIR), "utf8")) as ContribFixture;
}

function asFrame(columns: ModelFixture["columns"]): Frame {
  return fixtureFrame({ model: "", format: "", task: "", columns, expected: [] });
}

/**
 * Margins of a row-major matrix through the scoring path, leaves summed in float64: explanations
 * add up in float64, while XGBoost models score with XGBoost's float32 running sum (~1e-6 away).
 */
function margins(e: TreeEnsemble, x: Float32Array | Float64Array, nRows: number): Float64Array {
  const out = new Float64Array(nRows);
  scoreMarginsKernel(compileEnsemble({ ...e, sumPrecision: "float64" }), x, 0, nRows, out);
  return out;
}

/** Largest |sum of a row's values − its margin|. */
function localAccuracyError(phi: Float64Array, m: Float64Array, width: number): number {
  let worst = 0;
  for (let r = 0; r < m.length; r++) {
    let s = 0;
    for (let j = 0; j < width; j++) s += phi[r * width + j] as number;
    worst = Math.max(worst, Math.abs(s - (m[r] as number)));
  }
  return worst;
}

describe.each(["xgb_binary.json", "xgb_loans.json"])("TreeSHAP against XGBoost pred_contribs: %s", (model) => {
  const fx = readContribs(model);
  const path = model === "xgb_binary.json" ? modelPath(model) : new URL(model, EXPLAIN_DIR).pathname;
  const m = parseXGBoostJson(JSON.parse(readFileSync(path, "utf8")) as unknown);

  it("gives XGBoost's values and bias within 1e-5, missing values included", () => {
    const ex = treeExplainer({
      format: "xgboost",
      task: m.task,
      features: m.features,
      ensemble: m.ensemble,
      inputPrecision: "float32",
    });
    expect(ex.features).toEqual(fx.features);
    const frame = asFrame(fx.columns);
    expect(frame.columns.some((c) => c.kind === "numeric" && c.values.some((v) => Number.isNaN(v)))).toBe(true);
    const phi = ex.explain(frame);
    const width = fx.features.length + 1;
    let worst = 0;
    fx.contribs.forEach((row, r) =>
      row.forEach((v, j) => (worst = Math.max(worst, Math.abs((phi[r * width + j] as number) - v)))),
    );
    expect(worst).toBeLessThan(1e-5);
  });

  it("sums each row to its margin within 1e-6", () => {
    const x = frameToMatrix(asFrame(fx.columns), m.features, "float32");
    const n = fx.margins.length;
    const phi = new TreeShap(m.ensemble).explain(x, n);
    expect(localAccuracyError(phi, margins(m.ensemble, x, n), m.features.length + 1)).toBeLessThan(1e-6);
  });
});

describe.each(["lgb_binary.txt", "lgb_regression_zero.txt", "lgb_regression_nomissing.txt", "lgb_pandas_cat.txt"])(
  "TreeSHAP on LightGBM text %s (row counts as covers)",
  (model) => {
    const fx = readFixture(model);
    const m = parseLightGBMText(readFileSync(modelPath(model), "utf8"));
    const x = frameToMatrix(asFrame(fx.columns), m.features, "float64");
    const n = fx.expected.length;
    const shap = new TreeShap(m.ensemble);
    const phi = shap.explain(x, n);
    const width = m.features.length + 1;

    it("matches the brute-force Shapley values over every feature subset within 1e-9", () => {
      let worst = 0;
      for (let r = 0; r < Math.min(n, 40); r++) {
        const exact = bruteForceShap(m.ensemble, x.subarray(r * m.features.length, (r + 1) * m.features.length));
        for (let j = 0; j < width; j++)
          worst = Math.max(worst, Math.abs((phi[r * width + j] as number) - (exact[j] as number)));
      }
      expect(worst).toBeLessThan(1e-9);
    });

    it("sums to the margin LightGBM scored, categorical splits and missing types included", () => {
      // LightGBM's own scores are probabilities (binary) or predictions: back to margins.
      const lgbMargins = Float64Array.from(fx.expected, (p) => (fx.task === "binary" ? Math.log(p / (1 - p)) : p));
      expect(localAccuracyError(phi, lgbMargins, width)).toBeLessThan(1e-6);
    });
  },
);

describe("TreeSHAP on a keel-trained GBDT", () => {
  it("equals the brute-force Shapley values and sums to the margin (numeric, missing and categorical inputs)", async () => {
    const n = 800;
    const u = uniform(5);
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    const c = new Float64Array(n);
    const regions: string[] = [];
    const y = new Float64Array(n);
    const REGIONS = ["north", "south", "east", "west", "centre"];
    for (let i = 0; i < n; i++) {
      a[i] = u() < 0.15 ? NaN : u() * 4 - 2;
      b[i] = u() * 10;
      c[i] = Math.floor(u() * 5);
      const region = REGIONS[Math.floor(u() * 5)] as string;
      regions.push(region);
      const z =
        (Number.isNaN(a[i]) ? 0.5 : (a[i] as number)) +
        0.3 * (b[i] as number) -
        1.5 +
        (region === "south" || region === "east" ? 1 : 0);
      y[i] = u() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    const features: Column[] = [
      numericColumn("a", a),
      numericColumn("b", b),
      numericColumn("c", c),
      categoricalFromStrings("region", regions),
    ];
    const res = await trainGbdt({
      features,
      nRows: n,
      y,
      objective: "binary",
      params: { n_estimators: 15, max_depth: 4, learning_rate: 0.3, subsample: 0.8, seed: 3 },
    });
    const e = res.ensemble;
    expect(e.categorical).toBeDefined();
    const modelFeatures = res.features.map((f) =>
      f.kind === "categorical" ? { name: f.name, categories: f.dictionary ?? [] } : { name: f.name },
    );
    const x = frameToMatrix({ nRows: n, columns: features }, modelFeatures, "float64");
    const shap = new TreeShap(e);
    const phi = shap.explain(x, n);
    const width = features.length + 1;
    expect(localAccuracyError(phi, margins(e, x, n), width)).toBeLessThan(1e-6);
    let worst = 0;
    for (let r = 0; r < 60; r++) {
      const exact = bruteForceShap(e, x.subarray(r * 4, r * 4 + 4));
      for (let j = 0; j < width; j++)
        worst = Math.max(worst, Math.abs((phi[r * width + j] as number) - (exact[j] as number)));
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it("refuses an ensemble without covers, naming the field", () => {
    const e: TreeEnsemble = {
      nFeatures: 1,
      treeOffsets: Int32Array.of(0, 3),
      feature: Int32Array.of(0, -1, -1),
      threshold: Float64Array.of(0.5, 0, 0),
      left: Int32Array.of(1, 0, 0),
      right: Int32Array.of(2, 0, 0),
      defaultLeft: Uint8Array.of(0, 0, 0),
      value: Float64Array.of(0, -1, 1),
      baseScore: 0,
      link: "identity",
      compare: "lt",
    };
    expect(() => new TreeShap(e)).toThrow(/cover = \(absent\)/);
    const withCover = new TreeShap({ ...e, cover: Float64Array.of(4, 1, 3) });
    // E = (1·-1 + 3·1)/4 = 0.5; a row going left: phi = -1 - 0.5.
    expect(withCover.bias).toBeCloseTo(0.5, 12);
    expect(Array.from(withCover.explain(Float64Array.of(0), 1))).toEqual([-1.5, 0.5]);
  });
});
