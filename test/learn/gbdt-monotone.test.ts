import { describe, expect, it } from "vitest";
import { numericColumn } from "../../src/data/index.js";
import type { Column } from "../../src/data/index.js";
import { trainGbdt } from "../../src/learn/gbdt/train.js";
import { compileEnsemble, scoreEnsemble } from "../../src/learn/tree-ensemble.js";

const n = 6000;
let s = 99;
const r = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s / 4294967296;
};
const x0 = Float64Array.from({ length: n }, () => r() * 4);
const x1 = Float64Array.from({ length: n }, () => r() * 4);
const x2 = Float64Array.from({ length: n }, () => r());
// Wiggly in x0 and x1 (locally non-monotone) with an increasing / decreasing trend, plus noise.
const y = Float64Array.from({ length: n }, (_, i) => {
  const a = x0[i] as number;
  const b = x1[i] as number;
  return a + Math.sin(5 * a) - b - 0.8 * Math.sin(4 * b) + (x2[i] as number) * a + 0.3 * (r() - 0.5);
});
const features: Column[] = [numericColumn("x0", x0), numericColumn("x1", x1), numericColumn("x2", x2)];

/** Largest violation over a 60-point grid of `feature` for 200 sampled rows; > 0 means broken. */
async function worstViolation(params: Record<string, unknown>, feature: number, direction: 1 | -1): Promise<number> {
  const res = await trainGbdt({
    features,
    nRows: n,
    y,
    objective: "regression",
    params: { n_estimators: 80, max_depth: 5, subsample: 0.8, ...params },
  });
  const c = compileEnsemble(res.ensemble);
  const G = 60;
  const x = new Float64Array(G * 3);
  let worst = 0;
  for (let k = 0; k < 200; k++) {
    const row = (k * 29) % n;
    for (let g = 0; g < G; g++) {
      x[g * 3] = x0[row] as number;
      x[g * 3 + 1] = x1[row] as number;
      x[g * 3 + 2] = x2[row] as number;
      x[g * 3 + feature] = feature === 2 ? g / (G - 1) : (4 * g) / (G - 1);
    }
    const p = scoreEnsemble(c, x, G);
    for (let g = 1; g < G; g++) worst = Math.max(worst, direction * ((p[g - 1] as number) - (p[g] as number)));
  }
  return worst;
}

describe("monotone constraints", () => {
  it("the unconstrained model is not monotone here (so the check below can fail)", async () => {
    expect(await worstViolation({}, 0, 1)).toBeGreaterThan(0.05);
    expect(await worstViolation({}, 1, -1)).toBeGreaterThan(0.05);
  });

  it("holds on a grid for every sampled row: x0 increasing, x1 decreasing", async () => {
    const params = { monotone_constraints: "x0:1,x1:-1" };
    expect(await worstViolation(params, 0, 1)).toBe(0);
    expect(await worstViolation(params, 1, -1)).toBe(0);
  });

  it("accepts the object form", async () => {
    expect(await worstViolation({ monotone_constraints: { x0: 1 } }, 0, 1)).toBe(0);
  });
});
