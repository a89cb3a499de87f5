import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import { versionDecision } from "../../src/registry/index.js";
import { REPO, keelInProcess } from "./helpers.js";

/** sklearn's and R's pROC figures for XGBoost's own probabilities: test/fixtures/evaluate/make_evaluate_fixture.py. */
const DIR = path.join(REPO, "test/fixtures/evaluate");
interface Expected {
  models: Record<string, { auc: number; log_loss: number; brier: number; fnr: number; fpr: number; rows: number }>;
  comparison: { auc_difference: number; p_value: number; ci_low: number; ci_high: number; mcnemar_p_value: number };
}
const expected = JSON.parse(readFileSync(path.join(DIR, "expected.json"), "utf8")) as Expected;

interface Report {
  models: {
    model: string;
    rows: number;
    auc: number;
    log_loss: number;
    brier: number;
    fnr: number;
    fpr: number;
    segments?: { segment: string; rows: number }[];
  }[];
  comparisons: {
    a: string;
    b: string;
    auc_difference: number;
    ci_low: number;
    ci_high: number;
    p_value: number;
    method: string;
    mcnemar_p_value: number;
    verdict: string;
  }[];
}

const keel = (args: string[]) => keelInProcess(args, { cwd: DIR });
/** `keel [global flags] evaluate --data loans.csv --target default [flags]`: every case scores the same labelled rows. */
const evaluate = (flags: string[], global: string[] = []) =>
  keel([...global, "evaluate", "--data", "loans.csv", "--target", "default", ...flags]);

describe("keel evaluate", () => {
  it("reports each model's metrics as sklearn does and compares them as pROC and mcnemar.test do", async () => {
    const r = await evaluate(["--model", "strong.json", "--model", "weak.json", "--segment", "region"], ["--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.models.map((m) => m.model)).toEqual(["strong.json", "weak.json"]);
    for (const m of report.models) {
      const want = expected.models[m.model];
      if (want === undefined) throw new Error(`no expected figures for ${m.model}`);
      expect(m.rows).toBe(want.rows);
      // keel scores XGBoost models to within 1e-6 of XGBoost; the AUC only moves if a rank flips.
      expect(m.auc).toBeCloseTo(want.auc, 9);
      expect(m.log_loss).toBeCloseTo(want.log_loss, 6);
      expect(m.brier).toBeCloseTo(want.brier, 6);
      expect(m.fnr).toBeCloseTo(want.fnr, 12);
      expect(m.fpr).toBeCloseTo(want.fpr, 12);
      expect(m.segments?.map((s) => s.segment).sort()).toEqual(["north", "south", "west"]);
      expect(m.segments?.reduce((s, x) => s + x.rows, 0)).toBe(want.rows);
    }
    const c = report.comparisons[0];
    expect(report.comparisons).toHaveLength(1);
    expect(c?.a).toBe("weak.json");
    expect(c?.b).toBe("strong.json");
    expect(c?.method).toBe("delong");
    expect(c?.auc_difference).toBeCloseTo(expected.comparison.auc_difference, 9);
    expect(Math.abs((c?.p_value ?? 0) / expected.comparison.p_value - 1)).toBeLessThan(1e-6);
    expect(c?.ci_low).toBeCloseTo(expected.comparison.ci_low, 8);
    expect(c?.ci_high).toBeCloseTo(expected.comparison.ci_high, 8);
    expect(c?.mcnemar_p_value).toBeCloseTo(expected.comparison.mcnemar_p_value, 10);
    expect(c?.verdict).toBe("worse");
  });

  it("a model compared with itself is inconclusive; the human report names the verdict", async () => {
    const r = await evaluate(["--model", "strong.json", "--model", "strong.json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/paired comparisons against strong\.json/);
    expect(r.stdout).toMatch(/inconclusive/);
  });

  it("loads registry versions by alias and by number", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "keel-evaluate-"));
    const reg = await keel([
      "--data-dir",
      dataDir,
      "models",
      "register",
      "weak.json",
      "--name",
      "loan",
      "--alias",
      "challenger",
    ]);
    expect(reg.stderr).toBe("");
    expect((await keel(["--data-dir", dataDir, "models", "register", "strong.json", "--name", "loan"])).code).toBe(0);
    const r = await evaluate(
      ["--model", "models:/loan/2", "--model", "models:/loan@challenger"],
      ["--data-dir", dataDir, "--json"],
    );
    expect(r.stderr).toBe("");
    const report = JSON.parse(r.stdout) as Report;
    expect(report.models[0]?.auc).toBeCloseTo(expected.models["strong.json"]?.auc ?? NaN, 9);
    expect(report.models[1]?.auc).toBeCloseTo(expected.models["weak.json"]?.auc ?? NaN, 9);
    expect(report.comparisons[0]?.verdict).toBe("worse");

    // propose a threshold meeting FNR ≤ 0.15 and store it on the registry version, audited
    const chosen = await evaluate(
      ["--model", "models:/loan/2", "--choose-threshold", "fnr<=0.15", "--set-threshold"],
      ["--data-dir", dataDir, "--json"],
    );
    expect(chosen.stderr).toBe("");
    const proposal = JSON.parse(chosen.stdout) as {
      threshold_stored_on: string[];
      models: { proposed_threshold: { rule: string; threshold: number; fnr: number } }[];
    };
    const p = proposal.models[0]?.proposed_threshold;
    expect(p?.rule).toBe("fnr<=0.15");
    expect(p?.fnr).toBeLessThanOrEqual(0.15);
    expect(proposal.threshold_stored_on).toEqual(["models:/loan/2"]);
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dataDir, "keel.db")}`,
      artifactRoot: path.join(dataDir, "artifacts"),
    });
    try {
      expect(versionDecision(await stores.registry.getModelVersion("loan", "2"))).toEqual({ threshold: p?.threshold });
      const audit = await stores.audit.list({ limit: 1000 });
      expect(audit.filter((r) => r.action === "model_version.set_tag").map((r) => r.actor)).toEqual(["cli"]);
    } finally {
      await stores.close();
    }
    const human = await evaluate(["--model", "models:/loan/2", "--cost-matrix", "fp=1,fn=5"], ["--data-dir", dataDir]);
    expect(human.stdout).toMatch(/models:\/loan\/2: threshold [0-9.e-]+ meets cost fp=1,fn=5/);
  });

  it("rejects bad input with exit 2 and one line naming the flag, the value and the rule", async () => {
    const bad = await evaluate(["--model", "strong.json", "--threshold", "1.5"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/--threshold = 1\.5: must be a number in \[0, 1\]/);
    const effect = await evaluate(["--model", "strong.json", "--min-effect", "1"]);
    expect(effect.code).toBe(2);
    expect(effect.stderr.trim().split("\n")).toHaveLength(1);
    expect(effect.stderr).toMatch(/--min-effect = 1: must be a number in \[0, 1\)/);
    const rule = await evaluate(["--model", "strong.json", "--choose-threshold", "fnr<0.15"]);
    expect(rule.code).toBe(2);
    expect(rule.stderr).toMatch(/--choose-threshold = "fnr<0\.15": must be fnr<=B or fpr<=B with B in \[0, 1\]/);
    const store = await evaluate(["--model", "strong.json", "--set-threshold"]);
    expect(store.code).toBe(2);
    expect(store.stderr).toMatch(/--set-threshold: needs a models:\//);
    const seg = await evaluate(["--model", "strong.json", "--segment", "zone"]);
    expect(seg.code).toBe(2);
    expect(seg.stderr).toMatch(/--segment = zone: must name a column of --data/);
    const uri = await evaluate(["--model", "models:/loan"]);
    expect(uri.code).toBe(2);
    expect(uri.stderr).toMatch(
      /--model = models:\/loan: must be a file, models:\/<name>@<alias> or models:\/<name>\/<version>/,
    );
  });
});
