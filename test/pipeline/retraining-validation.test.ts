import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { quickstartPipeline } from "../../src/cli/commands/quickstart.js";
import { retrainingDeps } from "../../src/cli/retraining.js";
import { generateLoanApplications, numericColumn, takeRows, writeTable, type Frame } from "../../src/data/index.js";
import { AlertEngine } from "../../src/monitoring/index.js";
import { RETRAIN_VALIDATION_ALERT, checkRetraining, parseRetrainingPolicy } from "../../src/pipeline/index.js";
import { promoteAlias } from "../../src/registry/index.js";
import { proposeSuite } from "../../src/validate/index.js";
import { sqliteStores, type TestStores } from "../store/backends.js";

const DAY = 86_400_000;
const T0 = Date.parse("2024-06-01T00:00:00Z");

/** The broken feed: 2% of annual_income missing, 1 debt_to_income_ratio in 100 multiplied by 100. */
function broken(frame: Frame): Frame {
  return {
    nRows: frame.nRows,
    columns: frame.columns.map((c) => {
      if (c.kind !== "numeric") return c;
      if (c.name === "annual_income")
        return numericColumn(
          c.name,
          Float64Array.from(c.values, (v, i) => (i % 50 === 7 ? NaN : v)),
        );
      if (c.name === "debt_to_income_ratio")
        return numericColumn(
          c.name,
          Float64Array.from(c.values, (v, i) => (i % 100 === 3 ? v * 100 : v)),
        );
      return c;
    }),
  };
}

let t: TestStores | undefined;
const dir = mkdtempSync(path.join(tmpdir(), "keel-retrain-validation-"));
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a scheduled retrain whose data fails validation", () => {
  it("raises an alert through the sinks naming the failed columns, and resolves it once a run passes validation", async () => {
    let now = T0;
    t = await sqliteStores({ clock: () => now });
    const { stores } = t;
    const reference = generateLoanApplications({ rows: 20_000, seed: 7, driftMonths: 0 });
    writeFileSync(path.join(dir, "suite.json"), JSON.stringify(proposeSuite(reference)));
    writeFileSync(
      path.join(dir, "pipeline.json"),
      JSON.stringify(quickstartPipeline({ data: "loan-applications.csv" })),
    );
    const data = path.join(dir, "loan-applications.csv");
    const champion = await stores.registry.createModelVersion({ name: "loan-default", source: "models/v1" });
    await promoteAlias(stores.registry, {
      name: "loan-default",
      version: champion.version,
      approver: "ana",
      reason: "v1",
    });
    const policy = parseRetrainingPolicy({
      model: "loan-default",
      pipeline: "pipeline.json",
      schedule: "0 3 * * *",
      triggers: { schedule: { maxAgeDays: 1 } },
    });

    // A webhook sink: every delivery is a JSON POST, captured here.
    const delivered: { event: string; alert: Record<string, unknown> }[] = [];
    const fetchStub: typeof globalThis.fetch = (_url, init) => {
      delivered.push(JSON.parse(init?.body as string) as { event: string; alert: Record<string, unknown> });
      return Promise.resolve(new Response("{}", { status: 200 }));
    };
    const engine = new AlertEngine({
      observations: stores.observations,
      alerts: stores.alerts,
      sinks: [{ type: "webhook", url: "https://hooks.example/keel" }],
      clock: () => now,
      fetch: fetchStub,
    });
    const deps = { ...retrainingDeps(stores, () => now, engine) };

    // A fresh month of the same population, from a broken feed.
    now = T0 + 2 * DAY;
    await writeTable(broken(generateLoanApplications({ rows: 6000, seed: 8, driftMonths: 0 })), data);
    const first = await checkRetraining(policy, deps, { run: true, baseDir: dir });
    expect(first.run).toMatchObject({ status: "failed", failedStep: "validate" });
    expect(delivered.map((d) => [d.event, d.alert.rule_id, d.alert.tier])).toEqual([
      ["alert.fired", RETRAIN_VALIDATION_ALERT, "review"],
    ]);
    const alert = delivered[0]!.alert;
    expect(alert.model_name).toBe("loan-default");
    const failed = (alert.detail as { failed_expectations: string[] }).failed_expectations;
    expect(failed).toContainEqual(
      expect.stringMatching(/^annual_income: not_null .* failed: observed null fraction 0\.02 /),
    );
    expect(failed).toContainEqual(
      expect.stringMatching(/^debt_to_income_ratio: between .* failed: 60 of 6000 values outside/),
    );
    expect(alert.value).toBe(failed.length);
    expect(alert.summary).toContain(`retraining run ${first.run!.runId} stopped, its training data failed validation`);

    // The next check, still broken: the open alert is kept, not fired again.
    now += DAY;
    await checkRetraining(policy, deps, { run: true, baseDir: dir });
    expect(delivered).toHaveLength(1);

    // The feed repaired (rows of the month the suite was profiled on): the run gets past validation
    // and the alert resolves.
    now += DAY;
    await writeTable(
      takeRows(
        reference,
        Int32Array.from({ length: 6000 }, (_, i) => i),
      ),
      data,
    );
    const repaired = await checkRetraining(policy, deps, { run: true, baseDir: dir });
    expect(repaired.run?.failedStep).not.toBe("validate");
    expect(delivered.map((d) => [d.event, d.alert.rule_id])).toEqual([
      ["alert.fired", RETRAIN_VALIDATION_ALERT],
      ["alert.resolved", RETRAIN_VALIDATION_ALERT],
    ]);
    expect((await stores.alerts.list({ modelName: "loan-default", unresolved: true })).length).toBe(0);
  });
});
