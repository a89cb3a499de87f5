import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  chi2Contingency,
  chi2Sf,
  jensenShannon,
  ks2samp,
  ksExactPValue,
  kstwoSf,
  psiSorted,
  quantileSorted,
  linspaceProbabilities,
  sortedFinite,
  wasserstein,
} from "../../src/stats/index.js";

/** Numbers computed by scipy/numpy: test/fixtures/stats/generate.py. */
type Sample = { x: number[] } | { values: number[]; counts: number[] };
interface Fixtures {
  ks_2samp: { name: string; a: Sample; b: Sample; statistic: number; pvalue: number }[];
  kstwo_sf: { n: number; x: number; sf: number }[];
  ks_exact: { n1: number; n2: number; d: number; success: boolean; pvalue: number }[];
  chi2_contingency: { table: number[][]; statistic: number; pvalue: number; dof: number }[];
  chi2_sf: { x: number; k: number; sf: number }[];
  psi: { name: string; a: Sample; b: Sample; bins: number; psi: number; quantiles: number[] }[];
  jensenshannon: { p: number[]; q: number[]; distance: number }[];
  wasserstein: { a: Sample; b: Sample; distance: number }[];
}

const fx = JSON.parse(
  readFileSync(new URL("../fixtures/stats/scipy-fixtures.json", import.meta.url), "utf8"),
) as Fixtures;

function expand(s: Sample): Float64Array {
  if ("x" in s) return Float64Array.from(s.x);
  let n = 0;
  for (const c of s.counts) n += c;
  const out = new Float64Array(n);
  let k = 0;
  s.values.forEach((v, i) => {
    out.fill(v, k, k + s.counts[i]!);
    k += s.counts[i]!;
  });
  // Shuffle deterministically so the sort inside the test is exercised on unsorted input.
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

function expectRel(actual: number, expected: number, rel: number, abs = 0): void {
  const tol = Math.max(abs, rel * Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tol)) {
    expect.fail(`expected ${actual} to be within ${tol} of ${expected}`);
  }
}

describe("KS two-sample test against scipy.stats.ks_2samp", () => {
  for (const c of fx.ks_2samp) {
    it(c.name, () => {
      const r = ks2samp(expand(c.a), expand(c.b));
      expect(Math.abs(r.statistic - c.statistic)).toBeLessThanOrEqual(1e-9);
      expectRel(r.pValue, c.pvalue, 1e-6);
    });
  }
});

describe("kstwo.sf against scipy across its algorithm branches", () => {
  it(`matches ${fx.kstwo_sf.length} (n, x) points`, () => {
    for (const c of fx.kstwo_sf) expectRel(kstwoSf(c.x, c.n), c.sf, 1e-6, 1e-300);
  });
});

describe("exact two-sample KS p-values against scipy's _attempt_exact_2kssamp", () => {
  it(`matches ${fx.ks_exact.length} (n1, n2, d) points`, () => {
    for (const c of fx.ks_exact) {
      const r = ksExactPValue(c.n1, c.n2, c.d);
      if (c.success) expectRel(r.pValue ?? Number.NaN, c.pvalue, 1e-6);
      else expect(r.pValue).toBeNull();
    }
  });
});

describe("chi-square against scipy.stats.chi2_contingency", () => {
  for (const c of fx.chi2_contingency) {
    it(`${c.table.length}x${c.table[0]!.length} ${JSON.stringify(c.table).slice(0, 40)}`, () => {
      const r = chi2Contingency(Float64Array.from(c.table.flat()), c.table.length, c.table[0]!.length);
      expect(r.dof).toBe(c.dof);
      expectRel(r.statistic, c.statistic, 1e-9, 1e-12);
      expectRel(r.pValue, c.pvalue, 1e-9, 1e-300);
    });
  }
  it("chi2.sf over a grid of x and k", () => {
    for (const c of fx.chi2_sf) expectRel(chi2Sf(c.x, c.k), c.sf, 1e-9, 1e-300);
  });
});

describe("PSI against the anchor's numpy PSI", () => {
  for (const c of fx.psi) {
    it(c.name, () => {
      const a = sortedFinite(expand(c.a));
      const b = sortedFinite(expand(c.b));
      const probs = linspaceProbabilities(c.bins);
      c.quantiles.forEach((q, i) => expect(quantileSorted(a, probs[i]!)).toBe(q));
      expectRel(psiSorted(a, b, { bins: c.bins }), c.psi, 1e-12, 1e-15);
    });
  }
});

describe("distances against scipy", () => {
  it("Jensen-Shannon distance", () => {
    for (const c of fx.jensenshannon) {
      expectRel(jensenShannon(Float64Array.from(c.p), Float64Array.from(c.q)), c.distance, 1e-12, 1e-15);
    }
  });
  it("Wasserstein-1 distance", () => {
    for (const c of fx.wasserstein) expectRel(wasserstein(expand(c.a), expand(c.b)), c.distance, 1e-12, 1e-15);
  });
});
