import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/frame.js";
import { numericColumn, writeTable } from "../../src/data/io.js";
import { generateLoanApplications } from "../../src/data/loan-applications.js";
import type { ValidationReport } from "../../src/validate/index.js";
import { keelInProcess } from "./helpers.js";

/** The CLI in-process. */
const keel = (args: string[]) => keelInProcess(args, { cwd: dir });

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "keel-cli-validate-"));
  const frame = generateLoanApplications({ rows: 2000, seed: 9, driftMonths: 0 });
  await writeTable(frame, join(dir, "loans.csv"));
  // The corrupted batch: 10 empty loan amounts and four credit scores of 9999 (one in 2000 rows is
  // within what mostly 0.9999 allows; four are more than the 3 it allows).
  const corrupted: Frame = {
    nRows: frame.nRows,
    columns: frame.columns.map((c) => {
      if (c.kind !== "numeric" || (c.name !== "loan_amount" && c.name !== "credit_score")) return c;
      const v = Float64Array.from(c.values);
      if (c.name === "loan_amount") for (let i = 0; i < 10; i++) v[100 + i] = NaN;
      else for (const i of [42, 542, 1042, 1542]) v[i] = 9999;
      return numericColumn(c.name, v);
    }),
  };
  await writeTable(corrupted, join(dir, "batch.csv"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keel validate", () => {
  it("--profile prints a suite that the profiled data passes (exit 0)", async () => {
    const profile = await keel(["validate", "--profile", "loans.csv", "--name", "loans"]);
    expect(profile.code).toBe(0);
    const suite = JSON.parse(profile.stdout) as { name: string; expectations: { expect: string; column?: string }[] };
    expect(suite.name).toBe("loans");
    // the level of mostly's binomial test is written into the suite
    expect((suite as { alpha?: number }).alpha).toBe(0.001);
    expect(suite.expectations).toContainEqual({ expect: "unique", column: "applicant_id" });
    writeFileSync(join(dir, "suite.json"), profile.stdout);

    const ok = await keel(["validate", "--suite", "suite.json", "--data", "loans.csv"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim().split("\n").at(-1)).toBe(
      `${suite.expectations.length} of ${suite.expectations.length} expectations passed on 2000 rows`,
    );
  });

  it("exits 1 on a corrupted batch, naming the column, the rule and the observed value", async () => {
    const r = await keel(["validate", "--suite", "suite.json", "--data", "batch.csv"]);
    expect(r.code).toBe(1);
    const failures = r.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
    // Four 9999s among 2000 credit scores also multiply their standard deviation by about five.
    expect(failures).toHaveLength(3);
    expect(failures[0]).toMatch(
      /^FAIL credit_score: between \[\d+, \d+\] \(mostly 0\.9999\) failed: 4 of 2000 values outside \(0\.20%\), more than the 3 that mostly 0\.9999 allows in 2000 at alpha 0\.001, observed min \d+, max 9999; e\.g\. row 42 = 9999, row 542 = 9999, row 1042 = 9999, row 1542 = 9999$/,
    );
    expect(failures[1]).toMatch(
      /^FAIL credit_score: std_between \[[\d.]+, [\d.]+\] failed: observed standard deviation \d{3}\.\d+$/,
    );
    expect(failures[2]).toMatch(
      /^FAIL loan_amount: not_null \(max null fraction 0\) failed: observed null fraction 0\.005 \(10 of 2000 rows\); e\.g\. row 100 = null/,
    );
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: validation failed: 3 of \d+ expectations; first: credit_score: between/);

    const json = await keel(["--json", "validate", "--suite", "suite.json", "--data", "batch.csv", "--samples", "2"]);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as ValidationReport;
    expect(report.passed).toBe(false);
    expect(report.failed).toBe(3);
    const nulls = report.results.find((x) => !x.passed && x.expectation.expect === "not_null");
    expect(nulls?.unexpectedCount).toBe(10);
    expect(nulls?.failingRows).toEqual([
      { row: 100, value: null },
      { row: 101, value: null },
    ]);
  });

  it("exits 2 with one line on bad input", async () => {
    writeFileSync(join(dir, "typo.json"), JSON.stringify({ expectations: [{ expect: "beetween", column: "a" }] }));
    const typo = await keel(["validate", "--suite", "typo.json", "--data", "loans.csv"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim()).toMatch(/^error: suite\.expectations\[0\]\.expect = "beetween": must be one of /);
    const noData = await keel(["validate", "--suite", "suite.json"]);
    expect(noData.code).toBe(2);
    expect(noData.stderr.trim()).toBe("error: --data is required (or --profile DATA to propose a suite)");
    const both = await keel(["validate", "--profile", "loans.csv", "--data", "loans.csv"]);
    expect(both.code).toBe(2);
    const missing = await keel(["validate", "--suite", "nope.json", "--data", "loans.csv"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^error: \S*nope\.json: cannot be read$/);
    const noFile = await keel(["validate", "--profile", "gone.csv"]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr.trim()).toMatch(/^error: file .*gone\.csv does not exist$/);
  });
});
