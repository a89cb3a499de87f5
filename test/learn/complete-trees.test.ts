import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import {
  MAX_COMPLETE_DEPTH,
  buildCompleteTrees,
  completeTreesMarginsKernel,
  completeTreesUnsupported,
} from "../../src/learn/complete-trees.js";
import { chooseEvaluator } from "../../src/learn/ensemble-predictor.js";
import { EnsembleScorer } from "../../src/learn/ensemble-scorer.js";
import { loadLightGBMPredictor } from "../../src/learn/lightgbm-model.js";
import { loadXGBoostPredictor } from "../../src/learn/xgboost-model.js";
import { MISSING_ZERO, compileEnsemble, scoreMarginsKernel, type TreeEnsemble } from "../../src/learn/tree-ensemble.js";
import { fixtureFrame, maxAbsDiff, modelPath, readFixture } from "./fixture-frame.js";
import { randomEnsemble, randomRows } from "./random-ensemble.js";

/** Margins from the generated-code evaluator: an independent implementation of the same routing. */
function generatedMargins(e: TreeEnsemble, x: Float32Array | Float64Array, nRows: number): Float64Array {
  const out = new Float64Array(nRows);
  scoreMarginsKernel(compileEnsemble(e), x, 0, nRows, out);
  return out;
}

describe("complete-tree evaluator", () => {
  it.each([
    { compare: "lt", f32: true, maxDepth: 5 },
    { compare: "lt", f32: false, maxDepth: 3 },
    { compare: "le", f32: false, maxDepth: 6 },
    { compare: "le", f32: true, maxDepth: MAX_COMPLETE_DEPTH },
    { compare: "le", f32: false, maxDepth: 4, asZero: true },
  ] as const)("routes every row as the generated code does (%o)", (opts) => {
    const { f32, maxDepth } = opts;
    const nf = 5;
    const e = randomEnsemble(11 + maxDepth, { nTrees: 40, nf, ...opts });
    const ct = buildCompleteTrees(e);
    expect(ct).toBeDefined();
    if (ct === undefined) return;
    expect(ct.depth).toBeLessThanOrEqual(maxDepth);
    // Not a multiple of the block size, so the last block is partial.
    const nRows = 3 * ct.block + 77;
    const x = randomRows(3, nRows, nf, f32);
    const want = generatedMargins(e, x, nRows);
    const got = new Float64Array(nRows);
    completeTreesMarginsKernel(ct, x, 0, nRows, got);
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(new Set(got).size).toBeGreaterThan(50);
    // A range that starts mid-block writes only its own rows.
    const part = new Float64Array(nRows).fill(-1);
    completeTreesMarginsKernel(ct, x, 100, 400, part);
    expect(part[99]).toBe(-1);
    expect(part[400]).toBe(-1);
    expect(Array.from(part.subarray(100, 400))).toEqual(Array.from(want.subarray(100, 400)));
  });

  it("scores lone-leaf trees and a +∞ threshold", () => {
    const e: TreeEnsemble = {
      nFeatures: 1,
      treeOffsets: Int32Array.from([0, 1, 4]),
      feature: Int32Array.from([-1, 0, -1, -1]),
      threshold: Float64Array.from([0, Infinity, 0, 0]),
      left: Int32Array.from([0, 1, 0, 0]),
      right: Int32Array.from([0, 2, 0, 0]),
      defaultLeft: Uint8Array.from([0, 0, 0, 0]),
      value: Float64Array.from([100, 0, 1, 2]),
      baseScore: 0,
      link: "identity",
      compare: "lt",
    };
    const ct = buildCompleteTrees(e);
    expect(ct?.depth).toBe(1);
    const out = new Float64Array(4);
    completeTreesMarginsKernel(
      ct as NonNullable<typeof ct>,
      Float64Array.from([5, Infinity, NaN, -Infinity]),
      0,
      4,
      out,
    );
    // x < +∞ goes left (1); +∞ and missing (default right) go right (2); plus the lone leaf 100.
    expect(Array.from(out)).toEqual([101, 102, 102, 101]);
  });

  it("declines what it cannot represent exactly; auto falls back to generated code", () => {
    const base = randomEnsemble(5, { nTrees: 4, maxDepth: 3, nf: 3, compare: "lt", f32: false });
    const deep = randomEnsemble(5, { nTrees: 4, maxDepth: MAX_COMPLETE_DEPTH + 1, nf: 3, compare: "lt", f32: false });
    const cases: [TreeEnsemble, RegExp][] = [
      [{ ...base, missing: new Uint8Array(base.feature.length).fill(MISSING_ZERO) }, /zero_as_missing/],
      [
        {
          ...base,
          categorical: {
            nodeSet: Int32Array.from(base.feature, (f, g) => (g === 0 && f >= 0 ? 0 : -1)),
            setOffsets: Int32Array.from([0, 1]),
            bits: Uint32Array.from([5]),
          },
        },
        /categorical splits/,
      ],
      [deep, /trees deeper than 8/],
      [
        { ...base, threshold: Float64Array.from(base.threshold, (t, g) => (g === 0 ? -Infinity : t)) },
        /threshold -Infinity/,
      ],
    ];
    for (const [e, reason] of cases) {
      expect(completeTreesUnsupported(e)).toMatch(reason);
      expect(buildCompleteTrees(e)).toBeUndefined();
      expect("kind" in chooseEvaluator(e, "auto")).toBe(false);
      let err: unknown;
      try {
        chooseEvaluator(e, "complete-trees");
      } catch (caught) {
        err = caught;
      }
      expect(err).toBeInstanceOf(InvalidParameterError);
      expect((err as Error).message).toMatch(/evaluator = complete-trees/);
      expect((err as Error).message).toMatch(reason);
    }
    expect("kind" in chooseEvaluator(base, "auto")).toBe(true);
    expect("kind" in chooseEvaluator(base, "generated")).toBe(false);
  });

  it("gives the same scores on worker threads as inline", async () => {
    const nf = 6;
    const e = randomEnsemble(21, { nTrees: 60, maxDepth: 5, nf, compare: "lt", f32: true });
    const ct = buildCompleteTrees(e);
    expect(ct).toBeDefined();
    if (ct === undefined) return;
    // Enough work (rows × trees) for the parallel path.
    const nRows = 50_000;
    const x = randomRows(8, nRows, nf, true);
    const inline = await new EnsembleScorer(ct, { threads: 1 }).score(x, nRows);
    const scorer = new EnsembleScorer(ct, { threads: 2 });
    try {
      const par = await scorer.score(x, nRows);
      expect(Array.from(par)).toEqual(Array.from(inline));
      const generated = await new EnsembleScorer(compileEnsemble(e), { threads: 1 }).score(x, nRows);
      expect(Array.from(par)).toEqual(Array.from(generated));
    } finally {
      await scorer.close();
    }
  });
});

/** Expected scores come from xgboost / lightgbm themselves (test/fixtures/models/make_fixtures.py). */
describe.each(["xgb_binary.json", "xgb_binary_base.json", "xgb_regression.json"])(
  "complete trees on XGBoost %s",
  (model) => {
    it("scores within 1e-6 of xgboost, missing values included", async () => {
      const fx = readFixture(model);
      const json = JSON.parse(readFileSync(modelPath(model), "utf8")) as unknown;
      const p = loadXGBoostPredictor(json, { evaluator: "complete-trees" });
      expect("kind" in p.evaluator && p.evaluator.kind).toBe("complete-trees");
      expect(fx.expected.length).toBeGreaterThan(10);
      expect(maxAbsDiff(await p.predict(fixtureFrame(fx)), fx.expected)).toBeLessThan(1e-6);
      await p.close();
    });
  },
);

describe.each(["lgb_binary.txt", "lgb_regression_nomissing.txt", "lgb_regression_zero.txt", "lgb_pandas_cat.txt"])(
  "LightGBM %s",
  (model) => {
    it("auto falls back to generated code for models without a complete-tree form, within 1e-6 of lightgbm", async () => {
      const fx = readFixture(model);
      const text = readFileSync(modelPath(model), "utf8");
      const p = loadLightGBMPredictor(text);
      expect(maxAbsDiff(await p.predict(fixtureFrame(fx)), fx.expected)).toBeLessThan(1e-6);
      // These leaf-wise fixtures are deep, categorical or zero-as-missing: all keep generated code.
      expect("kind" in p.evaluator).toBe(false);
      await p.close();
    });
  },
);
