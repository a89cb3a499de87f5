import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/program.js";
import { readTable } from "../../src/data/index.js";
import { buildReferenceProfile, profileToJson } from "../../src/monitoring/index.js";

const REF = new URL("../fixtures/drift/loans_ref_5k.csv", import.meta.url).pathname;
const CUR = new URL("../fixtures/drift/loans_drift6_5k.csv", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "keel-drift-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function keel(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { env: {}, cwd: dir, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

interface JsonColumn {
  name: string;
  method: string;
  statistic: number;
  p_value: number | null;
  psi: number | null;
  drift: boolean;
  severity: string;
}

describe("keel drift", () => {
  it("--json prints one object with a columns array; exit 0 even when drift is found", async () => {
    const r = await keel("drift", "--reference", REF, "--current", CUR, "--method", "ks", "--json");
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out) as { columns: JsonColumn[]; drifted_columns: number };
    const byName = new Map(body.columns.map((c) => [c.name, c]));
    for (const name of ["credit_score", "debt_to_income_ratio", "num_delinquencies_12m"]) {
      expect(byName.get(name)?.drift, name).toBe(true);
    }
    for (const name of ["annual_income", "region"]) expect(byName.get(name)?.drift, name).toBe(false);
    const region = byName.get("region")!;
    expect(region.method).toBe("chi2");
    expect(region.psi).not.toBeNull();
    const cs = byName.get("credit_score")!;
    expect(Object.keys(cs)).toEqual(
      expect.arrayContaining(["name", "method", "statistic", "p_value", "psi", "drift", "severity"]),
    );
    expect(cs.method).toBe("ks");
    expect(body.drifted_columns).toBe(body.columns.filter((c) => c.drift).length);
  });

  it("auto is the default; methods without a p-value report null", async () => {
    const r = await keel("drift", "--reference", REF, "--current", CUR, "--json");
    const body = JSON.parse(r.out) as { columns: JsonColumn[] };
    const cs = body.columns.find((c) => c.name === "credit_score")!;
    expect(cs.method).toBe("wasserstein");
    expect(cs.p_value).toBeNull();
  });

  it("writes the HTML report and prints a table", async () => {
    const html = join(dir, "report.html");
    const r = await keel("drift", "--reference", REF, "--current", CUR, "--html", html);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/credit_score\s+wasserstein/);
    expect(r.out).toContain("3 of 11 columns drifted");
    expect(existsSync(html)).toBe(true);
    expect(readFileSync(html, "utf8")).toContain("<svg");
  });

  it("accepts a saved reference profile (.json) in place of the reference data", async () => {
    const profile = join(dir, "profile.json");
    writeFileSync(profile, JSON.stringify(profileToJson(buildReferenceProfile(await readTable(REF)))));
    const a = JSON.parse(
      (await keel("drift", "--reference", REF, "--current", CUR, "--method", "ks", "--json")).out,
    ) as {
      columns: JsonColumn[];
    };
    const b = JSON.parse(
      (await keel("drift", "--reference", profile, "--current", CUR, "--method", "ks", "--json")).out,
    ) as { columns: JsonColumn[] };
    for (const c of a.columns) expect(b.columns.find((x) => x.name === c.name)).toEqual(c);
  });

  it("--fail-on-drift exits 1 naming the drifted columns", async () => {
    const r = await keel("drift", "--reference", REF, "--current", CUR, "--fail-on-drift");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/drift detected in 3 column\(s\): credit_score, debt_to_income_ratio, num_delinquencies_12m/);
    const same = await keel("drift", "--reference", REF, "--current", REF, "--fail-on-drift");
    expect(same.code).toBe(0);
  });

  it("rejects a bad --method with a usage error naming the flag", async () => {
    const r = await keel("drift", "--reference", REF, "--current", CUR, "--method", "psi");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--method = "psi": must be "auto" or "ks"/);
    const missing = await keel("drift", "--reference", join(dir, "nope.csv"), "--current", CUR);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.csv does not exist/);
  });
});
