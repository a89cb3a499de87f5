import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { binomialAllowance } from "../../src/stats/index.js";
import { thrown } from "../keel-error.js";

interface Case {
  n: number;
  p: number;
  alpha: number;
  allowance: number;
}

// make_binomial_allowance.py: scipy.stats.binom, the largest k with sf(k − 1) ≥ alpha
const cases = JSON.parse(
  readFileSync(new URL("../fixtures/stats/binomial-allowance.json", import.meta.url), "utf8"),
) as Case[];

describe("binomialAllowance", () => {
  it("equals scipy's binomial tail on 200 (n, p, alpha) cases, n from 1 to 1,000,000", () => {
    expect(cases).toHaveLength(200);
    const wrong = cases.filter((c) => binomialAllowance(c.n, c.p, c.alpha) !== c.allowance);
    expect(wrong).toEqual([]);
  });

  it("allows nothing at rate 0 and everything at rate 1, and refuses levels outside (0, 0.25]", () => {
    expect(binomialAllowance(500, 0, 0.001)).toBe(0);
    expect(binomialAllowance(500, 1, 0.001)).toBe(500);
    expect(thrown(() => binomialAllowance(10, 0.1, 0.5)).message).toMatch(/^alpha = 0\.5: must be > 0 and ≤ 0\.25/);
    expect(thrown(() => binomialAllowance(10.5, 0.1, 0.01)).message).toMatch(/^n = 10\.5: must be an integer/);
  });
});
