import { describe, expect, it } from "vitest";
import { EnsembleScorer } from "../../src/learn/ensemble-scorer.js";
import {
  MISSING_AS_ZERO,
  MISSING_NAN,
  MISSING_ZERO,
  compileEnsemble,
  scoreEnsemble,
  type TreeEnsemble,
} from "../../src/learn/tree-ensemble.js";
import { InvalidParameterError } from "../../src/errors.js";

/**
 * Two trees over 2 features.
 * Tree 0: node0 x0 ? 1.5 → node1 (leaf 10) / node2 (x1 ? 0 → node3 leaf 1 / node4 leaf 2)
 * Tree 1: a single leaf 100.
 */
function twoTrees(overrides: Partial<TreeEnsemble> = {}): TreeEnsemble {
  return {
    nFeatures: 2,
    treeOffsets: Int32Array.from([0, 5, 6]),
    feature: Int32Array.from([0, -1, 1, -1, -1, -1]),
    threshold: Float64Array.from([1.5, 0, 0, 0, 0, 0]),
    left: Int32Array.from([1, 0, 3, 0, 0, 0]),
    right: Int32Array.from([2, 0, 4, 0, 0, 0]),
    defaultLeft: Uint8Array.from([1, 0, 0, 0, 0, 0]),
    value: Float64Array.from([0, 10, 0, 1, 2, 100]),
    baseScore: 0.5,
    link: "identity",
    compare: "lt",
    ...overrides,
  };
}

describe("tree ensemble scoring", () => {
  it("walks thresholds with < (XGBoost) and <= (LightGBM)", () => {
    const x = Float32Array.from([1.5, -1, 1.4, 5, 2, 0, 2, -0.5]);
    const lt = scoreEnsemble(compileEnsemble(twoTrees()), x, 4);
    // row0: 1.5 < 1.5 false → node2; x1=-1 < 0 → leaf 1 → 1 + 100 + 0.5
    expect(Array.from(lt)).toEqual([101.5, 110.5, 102.5, 101.5]);
    const le = scoreEnsemble(compileEnsemble(twoTrees({ compare: "le" })), x, 4);
    // row0: 1.5 <= 1.5 → leaf 10; row2: x1 = 0 <= 0 → leaf 1
    expect(Array.from(le)).toEqual([110.5, 110.5, 101.5, 101.5]);
  });

  it("sends missing values the default way, or as zero, per node mode", () => {
    const x = Float64Array.from([NaN, 3, 2, NaN, 2, 1e-36]);
    const dl = scoreEnsemble(compileEnsemble(twoTrees({ defaultLeft: Uint8Array.from([1, 0, 1, 0, 0, 0]) })), x, 3);
    // row0 NaN → left leaf 10; row1 x1 NaN → default left → leaf 1; row2 1e-36 < 0 false → leaf 2
    expect(Array.from(dl)).toEqual([110.5, 101.5, 102.5]);
    const modes = Uint8Array.from([MISSING_AS_ZERO, 0, MISSING_ZERO, 0, 0, 0]);
    const lgb = scoreEnsemble(
      compileEnsemble(twoTrees({ compare: "le", missing: modes, defaultLeft: Uint8Array.from([0, 0, 0, 0, 0, 0]) })),
      x,
      3,
    );
    // row0 NaN as 0 ≤ 1.5 → leaf 10; row1 NaN with Zero mode → default right → leaf 2; row2 1e-36 is zero → right
    expect(Array.from(lgb)).toEqual([110.5, 102.5, 102.5]);
    expect(MISSING_NAN).toBe(0);
  });

  it("keeps x <= +Infinity true for every number (no next double above Infinity)", () => {
    const c = compileEnsemble(twoTrees({ compare: "le", threshold: Float64Array.from([Infinity, 0, 0, 0, 0, 0]) }));
    const x = Float64Array.from([1e308, 0, Infinity, 0, -Infinity, 0, NaN, 0]);
    // NaN: default left (defaultLeft[0] = 1).
    expect(Array.from(scoreEnsemble(c, x, 4))).toEqual([110.5, 110.5, 110.5, 110.5]);
  });

  it("applies a sigmoid link with scale", () => {
    const c = compileEnsemble(twoTrees({ link: "sigmoid", sigmoidScale: 0.01, baseScore: 0 }));
    const out = scoreEnsemble(c, Float32Array.from([0, 0]), 1);
    expect(out[0]).toBeCloseTo(1 / (1 + Math.exp(-1.1)), 15);
  });

  it("routes category sets: in-set left, NaN/negative/unknown right", () => {
    const c = compileEnsemble(
      twoTrees({
        categorical: {
          nodeSet: Int32Array.from([0, -1, -1, -1, -1, -1]),
          setOffsets: Int32Array.from([0, 2]),
          bits: Uint32Array.from([0b1010, 1]), // categories 1, 3 and 32
        },
      }),
    );
    const x = Float32Array.from([1, 5, 3.7, 5, 32, 5, 2, 5, NaN, 5, -1, 5, 64, 5]);
    expect(Array.from(scoreEnsemble(c, x, 7))).toEqual([110.5, 110.5, 110.5, 102.5, 102.5, 102.5, 102.5]);
  });

  it("rejects malformed ensembles naming the field", () => {
    expect(() => compileEnsemble(twoTrees({ left: Int32Array.from([0, 0, 3, 0, 0, 0]) }))).toThrow(/left\[0\]/);
    expect(() => compileEnsemble(twoTrees({ feature: Int32Array.from([2, -1, 1, -1, -1, -1]) }))).toThrow(
      InvalidParameterError,
    );
    expect(() => scoreEnsemble(compileEnsemble(twoTrees()), new Float32Array(3), 2)).toThrow(/x\.length/);
  });

  it("gives the same scores on worker threads as inline", async () => {
    // A random forest of depth-3 trees, enough rows to take the parallel path.
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const nTrees = 40;
    const nodes = 15;
    const nf = 4;
    const feature = new Int32Array(nTrees * nodes);
    const threshold = new Float32Array(nTrees * nodes);
    const left = new Int32Array(nTrees * nodes);
    const right = new Int32Array(nTrees * nodes);
    const value = new Float64Array(nTrees * nodes);
    const offsets = new Int32Array(nTrees + 1);
    for (let t = 0; t < nTrees; t++) {
      offsets[t + 1] = (t + 1) * nodes;
      for (let i = 0; i < nodes; i++) {
        const g = t * nodes + i;
        if (i < 7) {
          feature[g] = Math.floor(rand() * nf);
          threshold[g] = rand();
          left[g] = 2 * i + 1;
          right[g] = 2 * i + 2;
        } else {
          feature[g] = -1;
          value[g] = rand() - 0.5;
        }
      }
    }
    const e: TreeEnsemble = {
      nFeatures: nf,
      treeOffsets: offsets,
      feature,
      threshold,
      left,
      right,
      defaultLeft: new Uint8Array(nTrees * nodes).fill(1),
      value,
      baseScore: 0,
      link: "sigmoid",
      compare: "lt",
    };
    const nRows = 60_000;
    const x = new Float32Array(nRows * nf);
    for (let i = 0; i < x.length; i++) x[i] = i % 97 === 0 ? NaN : rand();
    const c = compileEnsemble(e);
    const inline = scoreEnsemble(c, x, nRows);
    const scorer = new EnsembleScorer(c, { threads: 2 });
    try {
      const par = await scorer.score(x, nRows);
      expect(par.length).toBe(nRows);
      let maxDiff = 0;
      for (let i = 0; i < nRows; i++) maxDiff = Math.max(maxDiff, Math.abs((par[i] ?? 0) - (inline[i] ?? 0)));
      expect(maxDiff).toBe(0);
      expect(inline.some((v) => v !== inline[0])).toBe(true);
    } finally {
      await scorer.close();
    }
  });
});
