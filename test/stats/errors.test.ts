import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import { chi2Contingency, chi2Homogeneity } from "../../src/stats/chi2.js";
import { jensenShannon, wasserstein } from "../../src/stats/divergence.js";
import { ks2samp } from "../../src/stats/ks.js";
import { psiSorted } from "../../src/stats/psi.js";

describe("bad input is a typed error naming the field and the rule", () => {
  it("KS on an empty (or all-null) sample", () => {
    const e = () => ks2samp(Float64Array.from([1, 2]), Float64Array.from([Number.NaN]));
    expect(e).toThrow(InvalidParameterError);
    expect(e).toThrow(/sample sizes 2 and 0/);
  });
  it("chi-square with a zero margin, a negative count or a wrong shape", () => {
    expect(() => chi2Contingency(Float64Array.from([1, 0, 2, 0]), 2, 2)).toThrow(/expected frequency at \(0, 1\) is 0/);
    expect(() => chi2Contingency(Float64Array.from([1, -1, 2, 3]), 2, 2)).toThrow(/cell \(0, 1\) = -1/);
    expect(() => chi2Contingency(Float64Array.from([1, 2, 3]), 2, 2)).toThrow(/not 2 × 2/);
    expect(() => chi2Homogeneity(Float64Array.from([1, 2]), Float64Array.from([1]))).toThrow(/aligned/);
  });
  it("PSI bins, distances on empty input", () => {
    expect(() => psiSorted(Float64Array.from([1, 2]), Float64Array.from([1]), { bins: 0 })).toThrow(/bins = 0/);
    expect(() => jensenShannon(Float64Array.from([0, 0]), Float64Array.from([1, 1]))).toThrow(/weight totals 0 and 2/);
    expect(() => wasserstein(new Float64Array(0), Float64Array.from([1]))).toThrow(InvalidParameterError);
  });
  it("chi-square with a single category has no degrees of freedom: statistic 0, p 1 (scipy)", () => {
    expect(chi2Homogeneity(Float64Array.from([12]), Float64Array.from([7]))).toEqual({
      statistic: 0,
      pValue: 1,
      dof: 0,
    });
  });
});
