import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTable, writeTable } from "../../src/data/io.js";
import { generateLoanApplications } from "../../src/data/loan-applications.js";
import { loadReferenceProfile } from "../../src/monitoring/index.js";
import { openStores } from "../../src/open-stores.js";
import { proposeSuite } from "../../src/validate/index.js";
import { keelInProcess } from "./helpers.js";

/** The CLI in-process. */
const keel = (args: string[]) => keelInProcess(["--data-dir", join(dir, "store"), ...args], { cwd: dir });

let dir: string;

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
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
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
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^error: pipeline loans failed at gates: gate auc failed: validation AUC 0\.\d{4} is not > 0\.82/,
    );
    expect(r.stdout).toMatch(/FAIL gates/);
  });

  it("exits 2 on bad input: an unknown field, a missing file", async () => {
    writeFileSync(join(dir, "typo.json"), pipeline({ trian: {} }));
    const typo = await keel(["pipeline", "run", "typo.json"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim()).toMatch(
      /^error: \S+typo\.json: pipeline\.trian = \{\}: unknown field; allowed: .*train/,
    );
    const missing = await keel(["pipeline", "run", "nope.json"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^error: \S*nope\.json: cannot be read$/);
    writeFileSync(join(dir, "nodata.json"), pipeline({ data: "gone.csv" }));
    const noData = await keel(["pipeline", "run", "nodata.json"]);
    expect(noData.code).toBe(2);
    expect(noData.stderr.trim()).toMatch(/gone\.csv/);
  });
});
