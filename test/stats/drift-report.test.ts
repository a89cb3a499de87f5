import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { readTable } from "../../src/data/index.js";
import type { Frame } from "../../src/data/index.js";
import { InvalidParameterError } from "../../src/errors.js";
import { buildReferenceProfile, computeDrift, profileFromJson, profileToJson } from "../../src/monitoring/index.js";
import type { ColumnDrift, DriftReport } from "../../src/monitoring/index.js";

// gen_loans.py 5000 rows: the reference (seed 7) and the six-month drifted population (--drift 6 --seed 11).
const REF = new URL("../fixtures/drift/loans_ref_5k.csv", import.meta.url).pathname;
const CUR = new URL("../fixtures/drift/loans_drift6_5k.csv", import.meta.url).pathname;

let ref: Frame;
let cur: Frame;
beforeAll(async () => {
  [ref, cur] = await Promise.all([readTable(REF), readTable(CUR)]);
});

function col(r: DriftReport, name: string): ColumnDrift {
  const c = r.columns.find((x) => x.name === name);
  if (!c) throw new Error(`no column ${name}`);
  return c;
}

const DRIFTED = ["credit_score", "debt_to_income_ratio", "num_delinquencies_12m"];
const STABLE = ["annual_income", "region"];

describe("six-month drifted loan population", () => {
  it("auto: flags credit_score, debt_to_income_ratio, num_delinquencies_12m and not annual_income or region", () => {
    const r = computeDrift(ref, cur);
    for (const name of DRIFTED) expect(col(r, name).drift, name).toBe(true);
    for (const name of STABLE) expect(col(r, name).drift, name).toBe(false);
    // 5,000 reference rows > 1,000: effect sizes, not p-values.
    expect(col(r, "credit_score").method).toBe("wasserstein");
    expect(col(r, "region").method).toBe("jensenshannon");
    expect(col(r, "credit_score").p_value).toBeNull();
    expect(r.skipped).toContainEqual({ name: "applicant_id", reason: "identifier column" });
  });

  it("ks: same verdicts, with scipy's KS numbers", () => {
    const r = computeDrift(ref, cur, { method: "ks" });
    for (const name of DRIFTED) expect(col(r, name).drift, name).toBe(true);
    for (const name of STABLE) expect(col(r, name).drift, name).toBe(false);
    expect(col(r, "region").method).toBe("chi2");
    // scipy 1.10.1: ks_2samp(ref.dropna(), cur.dropna()) on these CSVs.
    const cs = col(r, "credit_score");
    expect(cs.statistic).toBeCloseTo(0.2056, 12);
    expect(Math.abs(cs.p_value! / 7.268390023876127e-93 - 1)).toBeLessThan(1e-6);
    const inc = col(r, "annual_income");
    expect(inc.statistic).toBeCloseTo(0.0196, 12);
    expect(Math.abs(inc.p_value! / 0.2920798616494909 - 1)).toBeLessThan(1e-6);
    const emp = col(r, "employment_years");
    expect(Math.abs(emp.statistic - 0.010403227228869856)).toBeLessThan(1e-9);
    expect(Math.abs(emp.p_value! / 0.9477943746579854 - 1)).toBeLessThan(1e-6);
    expect(col(r, "credit_score").severity).toBe("major");
    expect(col(r, "annual_income").severity).toBe("stable");
  });

  it("leaves empty cells out of the tests and reports them as null rates", () => {
    const emptyCells = (path: string): number =>
      readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .filter((line) => line.split(",")[6] === "").length;
    const r = computeDrift(ref, cur, { method: "ks" });
    const emp = col(r, "employment_years");
    expect(emp.reference_null_rate).toBe(emptyCells(REF) / 5000);
    expect(emp.current_null_rate).toBe(emptyCells(CUR) / 5000);
    expect(emp.reference_null_rate).toBeGreaterThan(0);
    expect(emp.reference_count).toBe(5000 - emptyCells(REF));
  });

  it("sortInPlace gives the same report and reorders only the Frames' numeric arrays", async () => {
    const [ref2, cur2] = await Promise.all([readTable(REF), readTable(CUR)]);
    for (const method of ["ks", "auto"] as const) {
      const [r, c] = method === "ks" ? [ref2, cur2] : await Promise.all([readTable(REF), readTable(CUR)]);
      expect(computeDrift(r, c, { method, sortInPlace: true }), method).toEqual(computeDrift(ref, cur, { method }));
    }
    const score = ref2.columns.find((x) => x.name === "credit_score");
    if (score?.kind !== "numeric") throw new Error("credit_score");
    const values = Array.from(score.values);
    expect(values).toEqual([...values].sort((a, b) => a - b));
  });

  it("identical samples do not drift", () => {
    const r = computeDrift(ref, ref, { method: "ks" });
    for (const c of r.columns) {
      expect(c.drift, c.name).toBe(false);
      expect(c.psi, c.name).toBe(0);
      expect(c.severity).toBe("stable");
    }
  });
});

describe("identifiers the reader left out (skipIdentifiers)", () => {
  it("give the report of the full frames, the identifier still named as not tested", async () => {
    const [refNoIds, curNoIds] = await Promise.all([
      readTable(REF, { threads: "this", skipIdentifiers: true }),
      readTable(CUR, { threads: "this", skipIdentifiers: true }),
    ]);
    expect(refNoIds.identifiers).toEqual(["applicant_id"]);
    expect(refNoIds.columns.map((c) => c.name)).not.toContain("applicant_id");
    for (const method of ["auto", "ks"] as const) {
      expect(computeDrift(refNoIds, curNoIds, { method })).toEqual(computeDrift(ref, cur, { method }));
    }
    expect(computeDrift(refNoIds, curNoIds, { columns: ["applicant_id", "region"] }).skipped).toEqual([
      { name: "applicant_id", reason: "identifier column" },
    ]);
  });

  it("a column the current data left out as an identifier is reported as such, not as missing", () => {
    const region = cur.columns.find((c) => c.name === "region");
    const others = cur.columns.filter((c) => c !== region);
    const r = computeDrift(ref, { nRows: cur.nRows, columns: others, identifiers: ["region"] }, { method: "ks" });
    expect(r.skipped).toContainEqual({ name: "region", reason: "identifier column in current" });
    const missing = computeDrift(ref, { nRows: cur.nRows, columns: others }, { method: "ks" });
    expect(missing.skipped).toContainEqual({ name: "region", reason: "missing from current" });
  });
});

describe("drift from a saved profile", () => {
  it("equals drift from the raw reference when the reference fits the reservoir", () => {
    const profile = profileFromJson(JSON.parse(JSON.stringify(profileToJson(buildReferenceProfile(ref)))));
    for (const method of ["auto", "ks"] as const) {
      const raw = computeDrift(ref, cur, { method });
      const fromProfile = computeDrift(profile, cur, { method });
      expect(fromProfile.skipped).toEqual(raw.skipped);
      expect(profile.excluded).toEqual([{ name: "applicant_id", reason: "identifier column" }]);
      for (const c of raw.columns) {
        const p = col(fromProfile, c.name);
        expect(p.method).toBe(c.method);
        expect(p.statistic).toBe(c.statistic);
        expect(p.p_value).toBe(c.p_value);
        expect(p.psi).toBe(c.psi);
        expect(p.drift).toBe(c.drift);
      }
    }
  });

  it("keeps counts-based statistics exact with a small reservoir", () => {
    const profile = buildReferenceProfile(ref, { reservoirSize: 1000, seed: 3 });
    const raw = computeDrift(ref, cur, { method: "ks" });
    const small = computeDrift(profile, cur, { method: "ks" });
    for (const c of raw.columns) {
      const p = col(small, c.name);
      expect(p.psi).toBe(c.psi);
      if (c.method === "chi2") expect(p.p_value).toBe(c.p_value);
    }
    for (const name of DRIFTED) expect(col(small, name).drift, name).toBe(true);
    expect(col(small, "credit_score").statistic).not.toBe(col(raw, "credit_score").statistic);
  });
});

describe("bad input", () => {
  it("rejects a column whose type differs between reference and current", () => {
    const a: Frame = { nRows: 3, columns: [{ kind: "numeric", name: "x", values: Float64Array.from([1, 2, 3]) }] };
    const b: Frame = {
      nRows: 3,
      columns: [{ kind: "categorical", name: "x", codes: Int32Array.from([0, 1, 0]), dictionary: ["a", "b"] }],
    };
    expect(() => computeDrift(a, b)).toThrow(InvalidParameterError);
    expect(() => computeDrift(a, b)).toThrow(/"x" is numeric in the reference but categorical/);
  });

  it("rejects an unknown method and an unknown column", () => {
    expect(() => computeDrift(ref, cur, { method: "psi" as "ks" })).toThrow(/method = "psi"/);
    expect(() => computeDrift(ref, cur, { columns: ["nope"] })).toThrow(/column "nope"/);
  });
});

describe("prediction drift", () => {
  it("tests current scores against the reference's prediction distribution like a numeric column", () => {
    // Scores: a fixed function of credit score, so they drift with it.
    const scoreOf = (f: Frame): Float64Array => {
      const c = f.columns.find((x) => x.name === "credit_score");
      if (c?.kind !== "numeric") throw new Error("credit_score");
      return c.values.map((v) => 1 / (1 + Math.exp((v - 650) / 40)));
    };
    const asColumn = (f: Frame): Frame => ({
      nRows: f.nRows,
      columns: [{ kind: "numeric", name: "prediction", values: scoreOf(f) }],
    });
    const direct = col(computeDrift(asColumn(ref), asColumn(cur), { method: "ks" }), "prediction");
    const viaScores = computeDrift(ref, cur, {
      method: "ks",
      columns: ["region"],
      referenceScores: scoreOf(ref),
      currentScores: scoreOf(cur),
    });
    expect(col(viaScores, "prediction")).toEqual(direct);
    expect(direct.drift).toBe(true);
    const profile = buildReferenceProfile(ref, { scores: scoreOf(ref) });
    expect(col(computeDrift(profile, cur, { method: "ks", currentScores: scoreOf(cur) }), "prediction")).toEqual(
      direct,
    );
    expect(() => computeDrift(ref, cur, { currentScores: scoreOf(cur) })).toThrow(/referenceScores/);
  });
});
