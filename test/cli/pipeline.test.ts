import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/program.js";
import { readTable, writeTable } from "../../src/data/io.js";
import { generateLoanApplications } from "../../src/data/loan-applications.js";
import { loadReferenceProfile } from "../../src/monitoring/index.js";
import { openStores } from "../../src/open-stores.js";
import { proposeSuite } from "../../src/validate/index.js";

let dir: string;

async function keel(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(["--data-dir", join(dir, "store"), ...args], {
    env: {},
    cwd: dir,
    out: (t) => (out += t + "\n"),
    err: (t) => (err += t + "\n"),
  });
  return { code, out, err };
}

function pipeline(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: "loans",
    data: "loans.csv",
    target: "default",
    idColumn: "applicant_id",
    validate: { suite: "suite.json" },
    split: { kind: "random", validFraction: 0.25, seed: 1, stratify: true },
    train: { model: "gbdt", params: { n_estimators: 60, max_depth: 3, learning_rate: 0.2 } },
    evaluate: { threshold: 0.1 },
    gates: [{ gate: "auc", min: 0.82 }, { gate: "ks" }],
    register: { model: "loans" },
    ...extra,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "keel-cli-pipeline-"));
  await writeTable(generateLoanApplications({ rows: 4000, seed: 5, driftMonths: 0 }), join(dir, "loans.csv"));
  writeFileSync(join(dir, "suite.json"), JSON.stringify(proposeSuite(await readTable(join(dir, "loans.csv")))));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keel pipeline run", () => {
  it("exits 0 on a passing pipeline and prints the result as JSON with --json", async () => {
    writeFileSync(join(dir, "pass.json"), pipeline());
    const r = await keel(["--json", "pipeline", "run", "pass.json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as {
      status: string;
      registered: { name: string; version: string; alias: string };
      metrics: { auc: number };
    };
    expect(result.status).toBe("passed");
    expect(result.registered).toMatchObject({ name: "loans", version: "1", alias: "challenger" });
    expect(result.metrics.auc).toBeGreaterThan(0.82);
    // The new version carries its reference profile for drift monitoring.
    const stores = openStores({
      backendStoreUri: `sqlite:///${join(dir, "store", "keel.db")}`,
      artifactRoot: join(dir, "store", "artifacts"),
    });
    try {
      const profile = await loadReferenceProfile(stores, "loans", "1");
      expect(profile.features.map((f) => f.name)).toContain("credit_score");
      expect(profile.features.map((f) => f.name)).not.toContain("default");
    } finally {
      await stores.close();
    }
  });

  it("exits 1 with one line naming the failed gate, its observed value and threshold", async () => {
    writeFileSync(
      join(dir, "weak.yaml"),
      `# no credit score\n${pipeline({ exclude: ["credit_score"], register: { model: "weak" } })}\n`,
    );
    const r = await keel(["pipeline", "run", "weak.yaml"]);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^error: pipeline loans failed at gates: gate auc failed: validation AUC 0\.\d{4} is not > 0\.82/,
    );
    expect(r.out).toMatch(/FAIL gates/);
  });

  it("exits 2 on bad input: an unknown field, a missing file", async () => {
    writeFileSync(join(dir, "typo.json"), pipeline({ trian: {} }));
    const typo = await keel(["pipeline", "run", "typo.json"]);
    expect(typo.code).toBe(2);
    expect(typo.err.trim()).toMatch(/^error: pipeline\.trian = \{\}: unknown field; allowed: .*train/);
    const missing = await keel(["pipeline", "run", "nope.json"]);
    expect(missing.code).toBe(2);
    expect(missing.err.trim()).toMatch(/nope\.json cannot be read/);
    writeFileSync(join(dir, "nodata.json"), pipeline({ data: "gone.csv" }));
    const noData = await keel(["pipeline", "run", "nodata.json"]);
    expect(noData.code).toBe(2);
    expect(noData.err.trim()).toMatch(/gone\.csv/);
  });
});
