import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/frame.js";
import { categoricalFromStrings, numericColumn } from "../../src/data/io.js";
import { generateLoanApplications } from "../../src/data/loan-applications.js";
import {
  parseSuite,
  proposeSuite,
  validateFrame,
  type Expectation,
  type ExpectationResult,
} from "../../src/validate/index.js";

const f64 = (xs: readonly number[]) => Float64Array.from(xs);

/** Six rows with one null per column where it matters, a duplicate id, an out-of-range value and a bad code. */
const small: Frame = {
  nRows: 6,
  columns: [
    categoricalFromStrings("id", ["a", "b", "c", "d", "c", "f"]),
    numericColumn("amount", f64([10, 20, NaN, 40, 500, 60])),
    numericColumn("count", f64([1, 2, 3, 4, 5, 6])),
    numericColumn("ratio", f64([0.5, 1.5, 2, 3, 4, 5])),
    categoricalFromStrings("grade", ["A", "B", "A", "Z", null, "C"]),
    categoricalFromStrings("zip", ["12345", "1234", "54321", "99999", "00000", "abcde"]),
    // What a reader produces when one cell of a numeric column is text.
    categoricalFromStrings("score", ["1", "2", "oops", "4", "5", "6"]),
  ],
};

function one(e: Expectation, frame: Frame = small, samples?: number): ExpectationResult {
  const report = validateFrame(frame, { expectations: [e] }, samples === undefined ? {} : { samples });
  expect(report.results).toHaveLength(1);
  return report.results[0] as ExpectationResult;
}

describe("validateFrame", () => {
  it("not_null: observes the null fraction and lists the null rows", () => {
    const r = one({ expect: "not_null", column: "amount", maxNullFraction: 0 });
    expect(r.passed).toBe(false);
    expect(r.observed).toBe(1 / 6);
    expect(r.failingRows).toEqual([{ row: 2, value: null }]);
    expect(r.message).toBe(
      "amount: not_null (max null fraction 0) failed: observed null fraction 0.166667 (1 of 6 rows); e.g. row 2 = null",
    );
    expect(one({ expect: "not_null", column: "amount", maxNullFraction: 0.2 }).passed).toBe(true);
  });

  it("between: counts values outside the bounds among the non-null ones, with the observed range", () => {
    const r = one({ expect: "between", column: "amount", min: 0, max: 100 });
    expect(r.passed).toBe(false);
    expect(r.observed).toEqual({ min: 10, max: 500 });
    expect(r.unexpectedCount).toBe(1);
    expect(r.unexpectedFraction).toBe(1 / 5);
    expect(r.failingRows).toEqual([{ row: 4, value: 500 }]);
    expect(r.message).toMatch(
      /^amount: between \[0, 100\] failed: 1 of 5 values outside \(20\.00%\), observed min 10, max 500; e\.g\. row 4 = 500$/,
    );
    // mostly: a failure rate of 1 − mostly, tested one-sided (binomial) at the suite's alpha, default 0.001.
    // 5 rows at rate 0.2: P(X ≥ 4) = 0.00672 ≥ 0.001 > P(X ≥ 5) = 0.00032, so up to 4 may fail
    const tolerant = one({ expect: "between", column: "amount", min: 0, max: 100, mostly: 0.8 });
    expect([tolerant.passed, tolerant.allowedCount]).toEqual([true, 4]);
    expect(tolerant.message).toMatch(
      /1 of 5 values outside \(20\.00%\), within the 4 that mostly 0\.8 allows in 5 at alpha 0\.001, /,
    );
    // rate 1e-4: one failure in 5 rows has probability 0.0005 < 0.001, so none may fail
    const strict = one({ expect: "between", column: "amount", min: 0, max: 100, mostly: 0.9999 });
    expect([strict.passed, strict.allowedCount]).toEqual([false, 0]);
    expect(strict.message).toMatch(/more than the 0 that mostly 0\.9999 allows in 5 at alpha 0\.001/);
    // a suite's alpha: at 0.25, P(X ≥ 2) = 0.26272 ≥ 0.25 > P(X ≥ 3) = 0.05792
    const loose = validateFrame(small, {
      alpha: 0.25,
      expectations: [{ expect: "between", column: "amount", min: 0, max: 100, mostly: 0.8 }],
    }).results[0]!;
    expect(loose.allowedCount).toBe(2);
    expect(one({ expect: "between", column: "amount", min: 10 }).passed).toBe(true);
  });

  it("between on a numeric column read as text: cells that are not numbers fail and are shown", () => {
    const r = one({ expect: "between", column: "score", min: 0, max: 10 });
    expect(r.passed).toBe(false);
    expect(r.failingRows).toEqual([{ row: 2, value: "oops" }]);
    expect(r.observed).toEqual({ min: 1, max: 6 });
    expect(r.message).toMatch(/1 not numbers/);
  });

  it("keeps only the first `samples` failing rows but counts them all", () => {
    const r = one({ expect: "between", column: "count", max: 1 }, small, 2);
    expect(r.unexpectedCount).toBe(5);
    expect(r.failingRows).toEqual([
      { row: 1, value: 2 },
      { row: 2, value: 3 },
    ]);
  });

  it("in_set: names the unseen values; nulls are left to not_null", () => {
    const r = one({ expect: "in_set", column: "grade", values: ["A", "B", "C"] });
    expect(r.passed).toBe(false);
    expect(r.observed).toEqual(["Z"]);
    expect(r.unexpectedCount).toBe(1);
    expect(r.unexpectedFraction).toBe(1 / 5);
    expect(r.failingRows).toEqual([{ row: 3, value: "Z" }]);
    expect(r.message).toContain('unseen "Z"');
    expect(one({ expect: "in_set", column: "count", values: [1, 2, 3, 4, 5, 6] }).passed).toBe(true);
    expect(one({ expect: "in_set", column: "count", values: [1, 2, 3] }).failingRows?.map((x) => x.row)).toEqual([
      3, 4, 5,
    ]);
  });

  it("unique: reports the rows that repeat an earlier value", () => {
    const r = one({ expect: "unique", column: "id" });
    expect(r.passed).toBe(false);
    expect(r.failingRows).toEqual([{ row: 4, value: "c" }]);
    expect(one({ expect: "unique", column: "count" }).passed).toBe(true);
  });

  it("regex: matches whole values when the pattern is anchored", () => {
    const r = one({ expect: "regex", column: "zip", pattern: "^\\d{5}$" });
    expect(r.passed).toBe(false);
    expect(r.failingRows).toEqual([
      { row: 1, value: "1234" },
      { row: 5, value: "abcde" },
    ]);
  });

  it("mean, standard deviation (n − 1) and quantile (numpy's linear) against hand-computed values", () => {
    // count = 1..6: mean 3.5, sample variance 17.5 / 5 = 3.5, 25th percentile 1 + 0.25 · 5 = 2.25
    const mean = one({ expect: "mean_between", column: "count", min: 3, max: 4 });
    expect(mean.passed).toBe(true);
    expect(mean.observed).toBe(3.5);
    const std = one({ expect: "std_between", column: "count", max: 1.8 });
    expect(std.observed).toBeCloseTo(Math.sqrt(3.5), 14);
    expect(std.passed).toBe(false);
    expect(std.message).toBe("count: std_between [-∞, 1.8] failed: observed standard deviation 1.87083");
    const q = one({ expect: "quantile_between", column: "count", quantile: 0.25, min: 2.25, max: 2.25 });
    expect(q.observed).toBe(2.25);
    expect(q.passed).toBe(true);
    // nulls are left out: amount's mean is over its five values
    expect(one({ expect: "mean_between", column: "amount", min: 0 }).observed).toBe((10 + 20 + 40 + 500 + 60) / 5);
    const text = one({ expect: "mean_between", column: "score", min: 0 });
    expect(text.passed).toBe(false);
    expect(text.failingRows).toEqual([{ row: 2, value: "oops" }]);
  });

  it("type: long, double, boolean and string, with the cells that break them", () => {
    expect(one({ expect: "type", column: "count", type: "long" }).passed).toBe(true);
    expect(one({ expect: "type", column: "count", type: "double" }).passed).toBe(true);
    const ratio = one({ expect: "type", column: "ratio", type: "long" });
    expect(ratio).toMatchObject({ passed: false, observed: "double" });
    expect(ratio.failingRows).toEqual([
      { row: 0, value: 0.5 },
      { row: 1, value: 1.5 },
    ]);
    expect(one({ expect: "type", column: "count", type: "boolean" }).passed).toBe(false);
    const score = one({ expect: "type", column: "score", type: "long" });
    expect(score).toMatchObject({ passed: false, observed: "string", failingRows: [{ row: 2, value: "oops" }] });
    expect(one({ expect: "type", column: "grade", type: "string" }).passed).toBe(true);
  });

  it("column_exists and row_count_between; a rule on a missing column fails naming it", () => {
    expect(one({ expect: "column_exists", column: "grade" }).passed).toBe(true);
    const missing = one({ expect: "between", column: "income", min: 0 });
    expect(missing).toMatchObject({ passed: false, observed: null });
    expect(missing.message).toBe("income: between [0, ∞] failed: the column is not in the data");
    expect(one({ expect: "row_count_between", min: 1, max: 6 }).passed).toBe(true);
    expect(one({ expect: "row_count_between", min: 7 }).message).toBe(
      "row_count_between [7, ∞] failed: observed 6 rows",
    );
  });

  it("sums up: passed only when every expectation passed, failed counts the rest", () => {
    const report = validateFrame(small, {
      name: "s",
      expectations: [
        { expect: "column_exists", column: "id" },
        { expect: "unique", column: "id" },
        { expect: "between", column: "amount", min: 0, max: 100 },
      ],
    });
    expect(report).toMatchObject({ suite: "s", passed: false, rows: 6, failed: 2 });
  });
});

describe("parseSuite", () => {
  const bad = (e: unknown) => () => parseSuite({ expectations: [e] });
  it("names the field, the value and the rule of what it refuses", () => {
    expect(() => parseSuite({ expectations: [], extra: 1 })).toThrow(/^suite\.extra = 1: unknown field/);
    expect(bad({ expect: "between_values", column: "a" })).toThrow(
      /^suite\.expectations\[0\]\.expect = "between_values": must be one of column_exists, type, not_null/,
    );
    expect(bad({ expect: "between", column: "a" })).toThrow(
      /^suite\.expectations\[0\]\.min = undefined: min or max is required/,
    );
    expect(bad({ expect: "between", column: "a", min: 5, max: 1 })).toThrow(/\.max = 1: must be ≥ min \(5\)/);
    expect(bad({ expect: "in_set", column: "a", values: ["x", {}] })).toThrow(
      /\.values\[1\] = \{\}: must be a string or a finite number/,
    );
    expect(bad({ expect: "regex", column: "a", pattern: "(" })).toThrow(
      /\.pattern = "\(": must be a valid regular expression/,
    );
    expect(bad({ expect: "not_null", column: "a", maxNullFraction: 1.5 })).toThrow(
      /maxNullFraction = 1\.5: must be a finite number, ≥ 0, ≤ 1/,
    );
    expect(bad({ expect: "type", column: "a", type: "int" })).toThrow(
      /\.type = "int": must be one of double, long, boolean, string/,
    );
    expect(bad({ expect: "unique", column: "a", min: 1 })).toThrow(
      /\.min = 1: unknown field; allowed: expect, column, reason$/,
    );
    expect(bad({ expect: "unique" })).toThrow(/\.column = undefined: is required/);
    expect(bad({ expect: "unique", column: "a", reason: 5 })).toThrow(/\.reason = 5: must be a non-empty string/);
  });

  it("keeps a rule's reason", () => {
    expect(parseSuite({ expectations: [{ expect: "unique", column: "a", reason: "row key" }] }).expectations).toEqual([
      { expect: "unique", column: "a", reason: "row key" },
    ]);
  });

  it("fills the defaults: not_null allows no nulls", () => {
    expect(parseSuite({ expectations: [{ expect: "not_null", column: "a" }] }).expectations).toEqual([
      { expect: "not_null", column: "a", maxNullFraction: 0 },
    ]);
  });
});

describe("proposeSuite", () => {
  const reference = generateLoanApplications({ rows: 5000, seed: 3, driftMonths: 0 });

  it("proposes rules from the data that the data itself passes", () => {
    const suite = proposeSuite(reference);
    // The suite survives a JSON round trip and parses as written.
    expect(parseSuite(JSON.parse(JSON.stringify(suite)))).toEqual(suite);
    const report = validateFrame(reference, suite);
    expect(report.results.filter((r) => !r.passed).map((r) => r.message)).toEqual([]);
    const rules = (column: string) => suite.expectations.filter((e) => "column" in e && e.column === column);
    expect(rules("applicant_id").map((e) => e.expect)).toEqual(["column_exists", "type", "not_null", "unique"]);
    expect(rules("region")).toContainEqual({
      expect: "in_set",
      column: "region",
      values: ["east", "north", "south", "west"],
    });
    // credit_score: integral, never null, the observed range widened by a tenth of it at each end, rounded outward
    const credit = reference.columns.find((c) => c.name === "credit_score") as { values: Float64Array };
    const [lo, hi] = [Math.min(...credit.values), Math.max(...credit.values)];
    expect(rules("credit_score")).toEqual(
      expect.arrayContaining([
        { expect: "type", column: "credit_score", type: "long" },
        { expect: "not_null", column: "credit_score", maxNullFraction: 0 },
        {
          expect: "between",
          column: "credit_score",
          min: Math.floor(lo - 0.1 * (hi - lo)),
          max: Math.ceil(hi + 0.1 * (hi - lo)),
          mostly: 0.9999,
          reason: `observed [${lo}, ${hi}] widened by 10% of the range at each end; mostly 0.9999 lets 1 value in 10000 fall outside`,
        },
      ]),
    );
    // loan_term takes two values: a discrete column keeps its observed range
    expect(rules("loan_term")).toContainEqual({
      expect: "between",
      column: "loan_term",
      min: 36,
      max: 60,
      mostly: 0.9999,
      reason:
        "observed [36, 60], a discrete column: kept as observed; mostly 0.9999 lets 1 value in 10000 fall outside",
    });
    // employment_years has about 1% empty cells: twice the reference's fraction, rounded up
    const emp = reference.columns.find((c) => c.name === "employment_years") as { values: Float64Array };
    const nullFraction = emp.values.filter((v) => Number.isNaN(v)).length / reference.nRows;
    expect(nullFraction).toBeGreaterThan(0);
    const notNull = rules("employment_years").find((e) => e.expect === "not_null") as { maxNullFraction: number };
    expect(notNull.maxNullFraction).toBeGreaterThanOrEqual(2 * nullFraction);
    expect(notNull.maxNullFraction).toBeLessThan(2 * nullFraction + 1e-4);
  });

  it("fails a corrupted batch naming the column, the rule and the observed value", () => {
    const suite = proposeSuite(reference);
    const corrupt = (name: string, edit: (v: Float64Array) => void) =>
      reference.columns.map((c) => {
        if (c.name !== name || c.kind !== "numeric") return c;
        const values = Float64Array.from(c.values);
        edit(values);
        return numericColumn(name, values);
      });
    let columns = corrupt("loan_amount", (v) => {
      for (let i = 0; i < 40; i++) v[i * 5] = NaN;
    });
    // five credit scores of 9999: more than the 4 a rate of 1 in 10,000 plausibly gives in 5,000 rows
    columns = columns.map((c) =>
      c.name === "credit_score"
        ? numericColumn(
            "credit_score",
            Float64Array.from((c as { values: Float64Array }).values, (v, i) => (i % 1000 === 17 ? 9999 : v)),
          )
        : c,
    );
    const report = validateFrame({ nRows: reference.nRows, columns }, suite);
    expect(report.passed).toBe(false);
    const failed = report.results.filter((r) => !r.passed).map((r) => r.message);
    expect(failed).toContainEqual(
      expect.stringMatching(
        /^loan_amount: not_null \(max null fraction 0\) failed: observed null fraction 0\.008 \(40 of 5000 rows\); e\.g\. row 0 = null/,
      ),
    );
    expect(failed).toContainEqual(
      expect.stringMatching(
        /^credit_score: between \[\d+, \d+\] \(mostly 0\.9999\) failed: 5 of 5000 values outside \(0\.10%\), more than the 4 that mostly 0\.9999 allows in 5000 at alpha 0\.001, .*max 9999; e\.g\. row 17 = 9999, row 1017 = 9999/,
      ),
    );
  });

  it("accepts independent 1,000- and 6,000-row samples of the same population, one heavy-tail value and all", () => {
    const suite = proposeSuite(generateLoanApplications({ rows: 20_000, seed: 101, driftMonths: 0 }));
    let outside = 0;
    for (const rows of [1000, 6000]) {
      for (let seed = 300; seed < 310; seed++) {
        const report = validateFrame(generateLoanApplications({ rows, seed, driftMonths: 0 }), suite);
        expect(report.results.filter((r) => !r.passed).map((r) => r.message)).toEqual([]);
        outside += report.results.reduce(
          (k, r) => k + (r.expectation.expect === "between" ? r.unexpectedCount! : 0),
          0,
        );
      }
    }
    // some of these samples do hold values outside the widened ranges: a count rule would have failed them
    expect(outside).toBeGreaterThan(0);
  });

  it("accepts an independent 200,000-row sample of the same population, and still names a broken feed's columns", () => {
    const suite = proposeSuite(generateLoanApplications({ rows: 20_000, seed: 101, driftMonths: 0 }));
    const fresh = generateLoanApplications({ rows: 200_000, seed: 202, driftMonths: 0 });
    const report = validateFrame(fresh, suite);
    expect(report.results.filter((r) => !r.passed).map((r) => r.message)).toEqual([]);
    // 2% nulls in one column, 0.1% of values far outside the range in another.
    const broken = fresh.columns.map((c) => {
      if (c.kind !== "numeric") return c;
      if (c.name === "annual_income") {
        return numericColumn(
          c.name,
          Float64Array.from(c.values, (v, i) => (i % 50 === 7 ? NaN : v)),
        );
      }
      if (c.name === "debt_to_income_ratio") {
        return numericColumn(
          c.name,
          Float64Array.from(c.values, (v, i) => (i % 1000 === 3 ? v * 100 : v)),
        );
      }
      return c;
    });
    const failed = validateFrame({ nRows: fresh.nRows, columns: broken }, suite)
      .results.filter((r) => !r.passed)
      .map((r) => r.message);
    expect(failed).toContainEqual(
      expect.stringMatching(/^annual_income: not_null .* failed: observed null fraction 0\.02 /),
    );
    expect(failed).toContainEqual(
      expect.stringMatching(
        /^debt_to_income_ratio: between .* \(mostly 0\.9999\) failed: 200 of 200000 values outside/,
      ),
    );
  });

  it("lets a drifted population through its mean and spread rules (drift is monitoring's job)", () => {
    const suite = proposeSuite(reference);
    const drifted = generateLoanApplications({ rows: 5000, seed: 4, driftMonths: 6 });
    const report = validateFrame(drifted, {
      expectations: suite.expectations.filter((e) => e.expect === "mean_between" || e.expect === "std_between"),
    });
    expect(report.results.filter((r) => !r.passed).map((r) => r.message)).toEqual([]);
  });
});
