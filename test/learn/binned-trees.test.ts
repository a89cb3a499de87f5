import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import {
  MAX_BINNED_DEPTH,
  binnedTreesMarginsKernel,
  binnedTreesUnsupported,
  buildBinnedTrees,
  f32Ceil,
} from "../../src/learn/binned-trees.js";
import { buildCompleteTrees, completeTreesMarginsKernel, type CompleteTrees } from "../../src/learn/complete-trees.js";
import { chooseEvaluator } from "../../src/learn/ensemble-predictor.js";
import { EnsembleScorer } from "../../src/learn/ensemble-scorer.js";
import { loadXGBoostPredictor } from "../../src/learn/xgboost-model.js";
import { compileEnsemble, scoreMarginsKernel, type TreeEnsemble } from "../../src/learn/tree-ensemble.js";
import { fixtureFrame, maxAbsDiff, modelPath, readFixture } from "./fixture-frame.js";
import { lcg, randomEnsemble, randomRows } from "./random-ensemble.js";

function complete(e: TreeEnsemble): CompleteTrees {
  const ct = buildCompleteTrees(e);
  if (ct === undefined) throw new Error("test ensemble has no complete-tree form");
  return ct;
}

/** Margins from the complete trees and from generated code: two independent routings. */
function reference(e: TreeEnsemble, x: Float32Array | Float64Array, nRows: number): [Float64Array, Float64Array] {
  const a = new Float64Array(nRows);
  completeTreesMarginsKernel(complete(e), x, 0, nRows, a);
  const b = new Float64Array(nRows);
  scoreMarginsKernel(compileEnsemble(e), x, 0, nRows, b);
  return [a, b];
}

/** One feature, `nCuts` stumps with distinct thresholds 0.5, 1.5, …: every bin is reachable. */
function stumps(nCuts: number): TreeEnsemble {
  const n = nCuts;
  return {
    nFeatures: 1,
    treeOffsets: Int32Array.from({ length: n + 1 }, (_, t) => 3 * t),
    feature: Int32Array.from({ length: 3 * n }, (_, g) => (g % 3 === 0 ? 0 : -1)),
    threshold: Float32Array.from({ length: 3 * n }, (_, g) => Math.floor(g / 3) + 0.5),
    left: Int32Array.from({ length: 3 * n }, (_, g) => (g % 3 === 0 ? 1 : 0)),
    right: Int32Array.from({ length: 3 * n }, (_, g) => (g % 3 === 0 ? 2 : 0)),
    defaultLeft: Uint8Array.from({ length: 3 * n }, (_, g) => Math.floor(g / 3) % 2),
    value: Float64Array.from({ length: 3 * n }, (_, g) => Math.fround((g % 3) * 0.25 - Math.floor(g / 3) / 1024)),
    baseScore: 0,
    link: "identity",
    compare: "lt",
    sumPrecision: "float32",
  };
}

describe("binned-tree evaluator", () => {
  it("adds every tree's leaf exactly as the complete trees and generated code do (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          maxDepth: fc.integer({ min: 1, max: MAX_BINNED_DEPTH }),
          nf: fc.integer({ min: 1, max: 7 }),
          nTrees: fc.integer({ min: 1, max: 30 }),
          compare: fc.constantFrom("lt" as const, "le" as const),
          asZero: fc.boolean(),
          f32Rows: fc.boolean(),
          nRows: fc.integer({ min: 0, max: 700 }),
        }),
        (o) => {
          const e = randomEnsemble(o.seed, { ...o, f32: true });
          const ct = complete(e);
          // A tree set whose splits all collapsed (lone leaves) has depth 0: not a binned form.
          fc.pre(ct.depth >= 1);
          const bt = buildBinnedTrees(ct);
          expect(bt).toBeDefined();
          if (bt === undefined) return;
          const x = randomRows(o.seed + 1, o.nRows, o.nf, o.f32Rows);
          const got = new Float64Array(o.nRows);
          binnedTreesMarginsKernel(bt, x, 0, o.nRows, got);
          const [byComplete, byGenerated] = reference(e, x, o.nRows);
          expect(Array.from(got)).toEqual(Array.from(byComplete));
          expect(Array.from(got)).toEqual(Array.from(byGenerated));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("scores a row range that starts mid-block and spans blocks, writing only its rows", () => {
    const nf = 6;
    const e = randomEnsemble(41, { nTrees: 25, maxDepth: 5, nf, compare: "lt", f32: true, asZero: true });
    const bt = buildBinnedTrees(complete(e));
    expect(bt?.copies).toBe(3);
    if (bt === undefined) return;
    const nRows = 2 * bt.block + 99;
    const x = randomRows(5, nRows, nf, true);
    const [want] = reference(e, x, nRows);
    const part = new Float64Array(nRows).fill(-1);
    binnedTreesMarginsKernel(bt, x, 37, nRows - 5, part);
    expect(part[36]).toBe(-1);
    expect(part[nRows - 5]).toBe(-1);
    expect(Array.from(part.subarray(37, nRows - 5))).toEqual(Array.from(want.subarray(37, nRows - 5)));
    expect(new Set(part).size).toBeGreaterThan(100);
  });

  it("uses all 256 bins of a feature with 255 cuts, missing values both ways", () => {
    const e = stumps(255);
    const bt = buildBinnedTrees(complete(e));
    expect(bt).toBeDefined();
    if (bt === undefined) return;
    // Every cut, both sides of it, the ends, missing, ±∞.
    const values = [-1, 0, 300, NaN, Infinity, -Infinity, -0];
    for (let k = 0; k < 255; k++) values.push(k + 0.5, k + 0.25, k + 0.75, Math.fround(k + 0.5 - 1e-5));
    for (const x of [Float32Array.from(values), Float64Array.from(values)]) {
      const got = new Float64Array(values.length);
      binnedTreesMarginsKernel(bt, x, 0, values.length, got);
      const [want, generated] = reference(e, x, values.length);
      expect(Array.from(got)).toEqual(Array.from(want));
      expect(Array.from(got)).toEqual(Array.from(generated));
    }
  });

  it("declines what it cannot represent exactly; auto keeps the complete trees", () => {
    const f64 = randomEnsemble(9, { nTrees: 5, maxDepth: 3, nf: 3, compare: "lt", f32: false });
    const deep = randomEnsemble(9, { nTrees: 8, maxDepth: MAX_BINNED_DEPTH + 1, nf: 3, compare: "lt", f32: true });
    const cases: [TreeEnsemble, RegExp][] = [
      [f64, /float64 sum/],
      [deep, /depth 7 outside/],
      [stumps(256), /256 distinct cuts on one feature/],
    ];
    for (const [e, reason] of cases) {
      expect(binnedTreesUnsupported(complete(e))).toMatch(reason);
      expect(buildBinnedTrees(complete(e))).toBeUndefined();
      const auto = chooseEvaluator(e, "auto");
      expect("kind" in auto && auto.kind).toBe("complete-trees");
      expect(() => chooseEvaluator(e, "binned-trees")).toThrow(InvalidParameterError);
      expect(() => chooseEvaluator(e, "binned-trees")).toThrow(/evaluator = binned-trees: the ensemble has/);
    }
    const ok = chooseEvaluator(stumps(3), "auto");
    expect("kind" in ok && ok.kind).toBe("binned-trees");
  });

  it("rounds cuts up to float32 so float32 rows compare exactly", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.float({ noNaN: true }), (c, v) => {
        fc.pre(c !== -Infinity);
        const up = f32Ceil(c);
        expect(Math.fround(up)).toBe(up);
        expect(v >= up).toBe(v >= c);
      }),
      { numRuns: 2000 },
    );
    expect(f32Ceil(0.1)).toBe(Math.fround(0.1));
    expect(f32Ceil(1e-50)).toBe(2 ** -149);
    expect(f32Ceil(-1e-50) === 0).toBe(true); // −0: still ≥ the cut
    expect(f32Ceil(1e39)).toBe(Infinity);
    expect(f32Ceil(-1e39)).toBe(-3.4028234663852886e38);
  });

  it("scores one row, a few rows and a large batch on workers alike", async () => {
    const nf = 6;
    const e = randomEnsemble(23, { nTrees: 60, maxDepth: 5, nf, compare: "lt", f32: true });
    const bt = buildBinnedTrees(complete(e));
    expect(bt).toBeDefined();
    if (bt === undefined) return;
    const nRows = 50_000;
    const x = randomRows(8, nRows, nf, true);
    const [want] = reference(e, x, nRows);
    const sigmoid = (m: number): number => 1 / (1 + Math.exp(-m));
    const inline = new EnsembleScorer(bt, { threads: 1 });
    for (const n of [1, 3, 17]) {
      expect(Array.from(await inline.score(x.subarray(nf * 500), n))).toEqual(
        Array.from(want.subarray(500, 500 + n), sigmoid),
      );
    }
    const scorer = new EnsembleScorer(bt, { threads: 2 });
    try {
      const par = await scorer.score(x, nRows);
      expect(Array.from(par)).toEqual(Array.from(want, sigmoid));
      expect(Array.from(await inline.score(x, nRows))).toEqual(Array.from(par));
    } finally {
      await scorer.close();
    }
  });

  it("builds one module per model, cut indices baked in: same rows, same bins whatever the block", () => {
    const rand = lcg(3);
    const e = randomEnsemble(77, { nTrees: 12, maxDepth: 4, nf: 3, compare: "le", f32: true });
    const bt = buildBinnedTrees(complete(e));
    expect(bt).toBeDefined();
    if (bt === undefined) return;
    const x = Float32Array.from({ length: 3 * 1000 }, () => Math.round(rand() * 24) / 4 - 3);
    const all = new Float64Array(1000);
    binnedTreesMarginsKernel(bt, x, 0, 1000, all);
    const pieces = new Float64Array(1000);
    for (let r = 0; r < 1000; r += 61) binnedTreesMarginsKernel(bt, x, r, Math.min(1000, r + 61), pieces);
    expect(Array.from(pieces)).toEqual(Array.from(all));
  });
});

/** Expected scores come from xgboost itself (test/fixtures/models/make_*fixture*.py). */
describe.each(["xgb_binary.json", "xgb_binary_base.json", "xgb_regression.json", "xgb_onehot_depth5.json"])(
  "binned trees on XGBoost %s",
  (model) => {
    it("auto picks binned trees; scores within 1e-6 of xgboost, missing values included", async () => {
      const fx = readFixture(model);
      const json = JSON.parse(readFileSync(modelPath(model), "utf8")) as unknown;
      const p = loadXGBoostPredictor(json);
      expect("kind" in p.evaluator && p.evaluator.kind).toBe("binned-trees");
      expect(fx.expected.length).toBeGreaterThan(10);
      expect(fx.columns[Object.keys(fx.columns)[0] ?? ""]?.some((v) => v === null)).toBe(true);
      expect(maxAbsDiff(await p.predict(fixtureFrame(fx)), fx.expected)).toBeLessThan(1e-6);
      await p.close();
    });
  },
);
