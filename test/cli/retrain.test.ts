import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTable, writeTable } from "../../src/data/io.js";
import { generateLoanApplications } from "../../src/data/loan-applications.js";
import { openStores } from "../../src/open-stores.js";
import { proposeSuite } from "../../src/validate/index.js";
import { promoteAlias } from "../../src/registry/promotion.js";
import { keelInProcess, keelServer } from "./helpers.js";

/** The CLI in-process with only the given environment. */
const keelCli = (args: string[], env: Record<string, string>) => keelInProcess(args, { env });

const HOUR = 3_600_000;

describe("keel retrain --check", () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-cli-retrain-"));
    env = { KEEL_DATA_DIR: dir };
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    await stores.migrate();
    const experimentId = await stores.tracking.createExperiment("loans");
    const run = await stores.tracking.createRun({ experimentId });
    await stores.tracking.logMetric(run.info.runId, { key: "auc", value: 0.84, timestamp: 0, step: 0 });
    await stores.registry.createModelVersion({ name: "loans", source: "m/1", runId: run.info.runId });
    await promoteAlias(stores.registry, { name: "loans", version: "1", approver: "ana", reason: "first" });
    const now = Date.now();
    // rolling AUC 0.78 vs 0.84 at registration: 7.14 % down
    await stores.observations.append([
      {
        modelName: "loans",
        windowStart: now - 2 * HOUR,
        windowEnd: now - HOUR,
        kind: "performance",
        metric: "auc_7d",
        value: 0.78,
      },
    ]);
    await stores.close();
    writeFileSync(
      path.join(dir, "policy.json"),
      JSON.stringify({
        model: "loans",
        pipeline: "loan-pipeline.json",
        schedule: "0 3 * * *",
        triggers: { schedule: { maxAgeDays: 30 }, performance: { maxRelativeDrop: 0.05 } },
      }),
    );
    writeFileSync(
      path.join(dir, "quiet.json"),
      JSON.stringify({
        model: "loans",
        pipeline: "loan-pipeline.json",
        schedule: "0 3 * * *",
        triggers: { schedule: { maxAgeDays: 30 }, performance: { maxRelativeDrop: 0.1 } },
      }),
    );
    writeFileSync(
      path.join(dir, "bad.json"),
      JSON.stringify({
        model: "loans",
        pipeline: "p.json",
        schedule: "0 3 * * *",
        triggers: { dataVolume: { minNewRows: 0 } },
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints which triggers fired and why, exits 0 either way, and names a bad field with exit 2", async () => {
    const [due, quiet, bad] = await Promise.all([
      keelCli(["retrain", "--check", "--policy", path.join(dir, "policy.json")], env),
      keelCli(["--json", "retrain", "--check", "--policy", path.join(dir, "quiet.json")], env),
      keelCli(["retrain", "--check", "--policy", path.join(dir, "bad.json")], env),
    ]);
    expect(due.code).toBe(0);
    const lines = due.stdout.trim().split("\n");
    expect(lines[0]).toBe("loans: retrain due (performance)");
    expect(lines[2]).toMatch(/^schedule +no +champion version 1 registered .* is 0 days old; maximum age 30 days$/);
    expect(lines[3]).toMatch(
      /^performance +FIRED +auc_7d 0\.78 is 7\.14% below the baseline auc 0\.84; fires above 5%$/,
    );
    expect(lines.at(-1)).toBe("pipeline not run: check only: the pipeline was not run (add --run to run it)");

    expect(quiet.code).toBe(0);
    const decision = (JSON.parse(quiet.stdout) as { decisions: Record<string, unknown>[] }).decisions[0];
    expect(decision).toMatchObject({ model: "loans", retrain: false, fired: [] });
    expect(decision?.triggers).toEqual([
      expect.objectContaining({ trigger: "schedule", fired: false, threshold: 30 }),
      expect.objectContaining({ trigger: "performance", fired: false, threshold: 0.1 }),
    ]);

    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(
      /^error: \S+\.json: policy\.triggers\.dataVolume\.minNewRows = 0: must be an integer, ≥ 1$/,
    );
  }, 60_000);
});

describe("keel retrain --run", () => {
  it("runs the pipeline on a fired trigger, registers a challenger and leaves the champion", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "keel-cli-retrain-run-"));
    const env = { KEEL_DATA_DIR: path.join(dir, "store") };
    try {
      await writeTable(generateLoanApplications({ rows: 3000, seed: 5, driftMonths: 0 }), path.join(dir, "loans.csv"));
      writeFileSync(
        path.join(dir, "suite.json"),
        JSON.stringify(proposeSuite(await readTable(path.join(dir, "loans.csv")))),
      );
      writeFileSync(
        path.join(dir, "pipeline.json"),
        JSON.stringify({
          name: "loans",
          data: "loans.csv",
          target: "default",
          idColumn: "applicant_id",
          validate: { suite: "suite.json" },
          split: { kind: "random", validFraction: 0.25, seed: 1, stratify: true },
          train: { model: "gbdt", params: { n_estimators: 40, max_depth: 3, learning_rate: 0.2 } },
          evaluate: { threshold: 0.1 },
          gates: [{ gate: "auc", min: 0.8 }],
          register: { model: "loans" },
        }),
      );
      writeFileSync(
        path.join(dir, "policy.json"),
        JSON.stringify({
          model: "loans",
          pipeline: "pipeline.json",
          schedule: "0 3 * * *",
          triggers: { performance: { maxRelativeDrop: 0.05 } },
        }),
      );
      const first = await keelCli(["pipeline", "run", path.join(dir, "pipeline.json")], env);
      expect(first.code).toBe(0);
      expect((await keelCli(["promote", "loans", "1", "--reason", "first model"], env)).code).toBe(0);

      const stores = openStores({
        backendStoreUri: `sqlite:///${path.join(dir, "store", "keel.db")}`,
        artifactRoot: path.join(dir, "store", "artifacts"),
      });
      try {
        const v1 = await stores.registry.getModelVersion("loans", "1");
        const auc = (await stores.tracking.getRun(v1.runId)).data.metrics.find((m) => m.key === "auc")?.value ?? NaN;
        expect(auc).toBeGreaterThan(0.8);
        const now = Date.now();
        await stores.observations.append([
          {
            modelName: "loans",
            windowStart: now - 2 * HOUR,
            windowEnd: now - HOUR,
            kind: "performance",
            metric: "auc_7d",
            value: auc * 0.9,
          },
        ]);

        const r = await keelCli(["retrain", "--run", "--policy", path.join(dir, "policy.json")], env);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("loans: retrain due (performance)");
        expect(r.stdout).toMatch(/is 10% below the baseline auc/);
        const m =
          /pipeline run (\S+) passed: registered version 2 as "challenger"; promote it with: keel promote loans 2 --to champion --reason TEXT/.exec(
            r.stdout,
          );
        expect(m).not.toBeNull();

        expect((await stores.registry.getVersionByAlias("loans", "champion")).version).toBe("1");
        expect((await stores.registry.getVersionByAlias("loans", "challenger")).version).toBe("2");
        const tags = Object.fromEntries(
          (await stores.tracking.getRun(m?.[1] ?? "")).data.tags.map((x) => [x.key, x.value]),
        );
        expect(tags["keel.retrain.trigger"]).toBe("performance");
        expect(tags["keel.retrain.reason"]).toMatch(/^performance: auc_7d .* is 10% below the baseline auc/);
        const decision = (await stores.audit.list({ targetId: "loans", limit: 10_000 })).filter(
          (a) => a.action === "retraining.decision",
        );
        expect(decision).toHaveLength(1);
        expect(decision[0]?.after).toMatchObject({
          retrain: true,
          fired: ["performance"],
          run_id: m?.[1],
          status: "passed",
          version: "2",
        });
      } finally {
        await stores.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("keel server --retraining-policy", () => {
  it("starts the scheduler and says when each model is checked next", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "keel-cli-retrain-server-"));
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    await stores.migrate();
    await stores.close();
    writeFileSync(
      path.join(dir, "policy.json"),
      JSON.stringify([
        { model: "loans", pipeline: "p.json", schedule: "0 3 * * *" },
        { model: "fraud", pipeline: "f.json", schedule: "*/10 * * * *" },
      ]),
    );
    const { child, output } = await keelServer(["--port", "0", "--retraining-policy", path.join(dir, "policy.json")], {
      KEEL_DATA_DIR: dir,
      KEEL_LOG_LEVEL: "silent",
    });
    try {
      const deadline = Date.now() + 20_000;
      while (!/retraining policy: next check/.test(output()) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const line = /retraining policy: next check (.*)/.exec(output())?.[1] ?? "";
      const m = /^loans at (\S+), fraud at (\S+)$/.exec(line);
      expect(m).not.toBeNull();
      const loans = Date.parse(m?.[1] ?? "");
      const fraud = Date.parse(m?.[2] ?? "");
      // 03:00 UTC daily, and the next multiple of 10 minutes
      expect(new Date(loans).getUTCHours()).toBe(3);
      expect(loans - Date.now()).toBeLessThanOrEqual(24 * HOUR);
      expect(new Date(fraud).getUTCMinutes() % 10).toBe(0);
      expect(fraud - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
