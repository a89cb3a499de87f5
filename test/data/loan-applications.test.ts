import { describe, expect, it } from "vitest";
import type { CategoricalColumn, Frame, NumericColumn } from "../../src/data/frame.js";
import { generateLoanApplications } from "../../src/data/loan-applications.js";

const numeric = (f: Frame, name: string) => (f.columns.find((c) => c.name === name) as NumericColumn).values;
const mean = (xs: Float64Array) => {
  let s = 0;
  let n = 0;
  for (const x of xs) {
    if (Number.isNaN(x)) continue;
    s += x;
    n++;
  }
  return s / n;
};

describe("generateLoanApplications", () => {
  const ref = generateLoanApplications({ rows: 20_000, seed: 7, driftMonths: 0 });

  it("is deterministic for a seed and differs across seeds", () => {
    const a = generateLoanApplications({ rows: 2000, seed: 7, driftMonths: 0 });
    expect(generateLoanApplications({ rows: 2000, seed: 7, driftMonths: 0 })).toEqual(a);
    // The first rows do not depend on how many follow.
    expect(numeric(a, "credit_score")).toEqual(numeric(ref, "credit_score").subarray(0, 2000));
    const other = generateLoanApplications({ rows: 2000, seed: 8, driftMonths: 0 });
    expect(numeric(other, "credit_score")).not.toEqual(numeric(a, "credit_score"));
  });

  it("has the loan columns, ids and plausible values", () => {
    expect(ref.columns.map((c) => c.name)).toEqual([
      "applicant_id",
      "credit_score",
      "annual_income",
      "debt_to_income_ratio",
      "loan_amount",
      "num_delinquencies_12m",
      "employment_years",
      "loan_term",
      "home_ownership",
      "purpose",
      "region",
      "default",
    ]);
    const ids = ref.columns[0] as CategoricalColumn;
    expect(ids.dictionary[ids.codes[12] as number]).toBe("A00000012");
    const credit = numeric(ref, "credit_score");
    expect(Math.min(...credit)).toBeGreaterThanOrEqual(300);
    expect(Math.max(...credit)).toBeLessThanOrEqual(850);
    expect(mean(credit)).toBeGreaterThan(685);
    expect(mean(credit)).toBeLessThan(695);
    const dti = numeric(ref, "debt_to_income_ratio");
    // Beta(2, 5) has mean 2/7
    expect(mean(dti)).toBeCloseTo(2 / 7, 2);
    expect(mean(numeric(ref, "num_delinquencies_12m"))).toBeCloseTo(0.3, 1);
    const emp = numeric(ref, "employment_years");
    const nulls = emp.filter((v) => Number.isNaN(v)).length / ref.nRows;
    expect(nulls).toBeGreaterThan(0.005);
    expect(nulls).toBeLessThan(0.015);
    const rate = mean(numeric(ref, "default"));
    expect(rate).toBeGreaterThan(0.15);
    expect(rate).toBeLessThan(0.25);
  });

  it("puts the default risk mostly on the credit score: defaulters score about 60 points lower", () => {
    const credit = numeric(ref, "credit_score");
    const y = numeric(ref, "default");
    const bad = credit.filter((_, i) => y[i] === 1);
    const good = credit.filter((_, i) => y[i] === 0);
    expect(mean(good) - mean(bad)).toBeGreaterThan(40);
  });

  it("drifts six months: credit scores 35 points lower, more debt and delinquencies, income unchanged", () => {
    const drifted = generateLoanApplications({ rows: 20_000, seed: 7, driftMonths: 6 });
    expect(mean(numeric(ref, "credit_score")) - mean(numeric(drifted, "credit_score"))).toBeCloseTo(35, -1);
    // Beta(3.2, 5) has mean 3.2 / 8.2
    expect(mean(numeric(drifted, "debt_to_income_ratio"))).toBeCloseTo(3.2 / 8.2, 2);
    expect(mean(numeric(drifted, "num_delinquencies_12m"))).toBeCloseTo(0.7, 1);
    expect(mean(numeric(drifted, "annual_income")) / mean(numeric(ref, "annual_income"))).toBeCloseTo(1, 1);
  });
});
