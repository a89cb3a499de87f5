import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Stores } from "../../src/open-stores.js";
import { createAlertStore } from "../../src/store/alert-history-sql.js";
import {
  checkRetraining,
  retrainAlertListener,
  startRetrainingScheduler,
  type RetrainingDeps,
  type RetrainingPipelineRunner,
} from "../../src/pipeline/retraining.js";
import { parseRetrainingPolicy } from "../../src/pipeline/retraining-policy.js";
import { promoteAlias } from "../../src/registry/promotion.js";
import { createLeaseStore } from "../../src/store/index.js";
import { postgresStores, sqliteStores, type MakeStores, type TestStores } from "../store/backends.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse("2024-06-01T00:00:00Z");

/** A clock tests move by hand. */
function manualClock(start: number) {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v) };
}

/**
 * Registers a version the way a passing pipeline does: a finished run with its validation AUC,
 * and the new version aliased `challenger`.
 */
async function registerTrained(stores: Stores, auc: number, tags: Readonly<Record<string, string>> = {}) {
  const experimentId = await stores.tracking.createExperiment(`loans-${Math.random()}`);
  const run = await stores.tracking.createRun({
    experimentId,
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  });
  await stores.tracking.logMetric(run.info.runId, { key: "auc", value: auc, timestamp: 0, step: 0 });
  const v = await stores.registry.createModelVersion({ name: "loans", source: "m", runId: run.info.runId });
  await stores.registry.setAlias("loans", "challenger", v.version);
  return { runId: run.info.runId, version: v.version };
}

const policyJson = {
  model: "loans",
  pipeline: "loan-pipeline.json",
  schedule: "0 * * * *",
  triggers: {
    schedule: { maxAgeDays: 30 },
    drift: { minFeatures: 2, lookbackHours: 24 },
    performance: { maxRelativeDrop: 0.05 },
    dataVolume: { minNewRows: 3, data: "labels.csv", timeColumn: "decided_at", labelColumn: "defaulted" },
  },
};

for (const [backend, make] of [
  ["SQLite", sqliteStores],
  ["PostgreSQL", postgresStores],
] as [string, MakeStores][]) {
  describe(`retraining checks on ${backend}`, () => {
    let t: TestStores | undefined;
    let dir: string | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it("gathers facts from registry, tracking, monitoring and the labelled data, and records the decision", async () => {
      const clock = manualClock(T0);
      t = await make({ clock: clock.now });
      const { stores } = t;
      dir = mkdtempSync(path.join(tmpdir(), "keel-retrain-"));
      const v1 = await registerTrained(stores, 0.8);
      await promoteAlias(stores.registry, { name: "loans", version: v1.version, approver: "ana", reason: "first" });
      // Labelled rows: 2 before the registration (T0), 3 after, one of them without a label.
      writeFileSync(
        path.join(dir, "labels.csv"),
        [
          "decided_at,defaulted",
          "2024-05-30T10:00:00Z,0",
          "2024-05-31T10:00:00Z,1",
          "2024-06-02T10:00:00Z,1",
          "2024-06-03T10:00:00Z,0",
          "2024-06-04T10:00:00Z,",
        ].join("\n"),
      );
      const now = T0 + 10 * DAY;
      clock.set(now);
      const window = (hoursAgo: number) => ({
        windowStart: now - (hoursAgo + 1) * HOUR,
        windowEnd: now - hoursAgo * HOUR,
      });
      await stores.observations.append([
        {
          modelName: "loans",
          ...window(2),
          kind: "drift",
          metric: "psi",
          feature: "credit_score",
          value: 0.31,
          severity: "major",
        },
        {
          modelName: "loans",
          ...window(2),
          kind: "drift",
          metric: "psi",
          feature: "region",
          value: 0.02,
          severity: "stable",
        },
        {
          modelName: "loans",
          ...window(30),
          kind: "drift",
          metric: "psi",
          feature: "dti",
          value: 0.4,
          severity: "major",
        },
        { modelName: "loans", ...window(2), kind: "performance", metric: "auc_7d", value: 0.75 },
        {
          modelName: "loans",
          ...window(1),
          kind: "performance",
          metric: "auc_7d",
          segment: "region=north",
          value: 0.5,
        },
        { modelName: "loans", ...window(5), kind: "performance", metric: "auc_7d", value: 0.79 },
      ]);
      const deps: RetrainingDeps = { ...stores, clock: clock.now };
      const outcome = await checkRetraining(parseRetrainingPolicy(policyJson), deps, { baseDir: dir });
      const byTrigger = Object.fromEntries(outcome.decision.triggers.map((r) => [r.trigger, r]));
      // 10 days old of 30
      expect(byTrigger.schedule?.fired).toBe(false);
      expect(byTrigger.schedule?.observed).toBe(10);
      // one major feature inside 24 h (dti's window is 30 h old): 1 < 2
      expect(byTrigger.drift?.fired).toBe(false);
      expect(byTrigger.drift?.observed).toBe(1);
      // overall auc_7d of the newest window: 0.75 vs 0.80 = 6.25 % down (the segment row is ignored)
      expect(byTrigger.performance?.fired).toBe(true);
      expect(byTrigger.performance?.observed).toBeCloseTo(0.0625, 12);
      // 2 labelled rows after the registration at T0 (the unlabelled one does not count): 2 < 3
      expect(byTrigger.data_volume?.fired).toBe(false);
      expect(byTrigger.data_volume?.observed).toBe(2);
      expect(outcome.decision.fired).toEqual(["performance"]);
      expect(outcome.skipped).toBe("check only: the pipeline was not run");

      const row = (await stores.audit.list({ targetId: "loans" })).at(-1);
      expect(row).toMatchObject({
        actor: "retraining-policy",
        action: "retraining.decision",
        targetType: "registered_model",
        after: { retrain: true, fired: ["performance"], run_id: null, skipped: "check only: the pipeline was not run" },
      });
      expect(row?.time).toBe(now);
      expect((await stores.audit.verifyAuditChain()).ok).toBe(true);
    });

    it("runs the pipeline when a trigger fired, tags its run, and leaves the champion alone", async () => {
      const clock = manualClock(T0);
      t = await make({ clock: clock.now });
      const { stores } = t;
      const v1 = await registerTrained(stores, 0.8);
      await promoteAlias(stores.registry, { name: "loans", version: v1.version, approver: "ana", reason: "first" });
      clock.set(T0 + 31 * DAY);
      const calls: string[] = [];
      const runPipeline: RetrainingPipelineRunner = async (file, tags) => {
        calls.push(file);
        const r = await registerTrained(stores, 0.83, tags);
        return { status: "passed", runId: r.runId, registered: { version: r.version, alias: "challenger" } };
      };
      const policy = parseRetrainingPolicy({ ...policyJson, triggers: { schedule: { maxAgeDays: 30 } } });
      const outcome = await checkRetraining(
        policy,
        { ...stores, clock: clock.now, runPipeline },
        { run: true, baseDir: "/srv/ml" },
      );
      expect(calls).toEqual(["/srv/ml/loan-pipeline.json"]);
      expect(outcome.decision.fired).toEqual(["schedule"]);
      const runId = outcome.run?.runId ?? "";
      const tags = Object.fromEntries((await stores.tracking.getRun(runId)).data.tags.map((x) => [x.key, x.value]));
      expect(tags["keel.retrain.trigger"]).toBe("schedule");
      expect(tags["keel.retrain.reason"]).toBe(
        "schedule: champion version 1 registered 2024-06-01T00:00:00.000Z is 31 days old; maximum age 30 days",
      );
      expect(tags["keel.retrain.decided_at"]).toBe("2024-07-02T00:00:00.000Z");
      expect((await stores.registry.getVersionByAlias("loans", "champion")).version).toBe("1");
      expect((await stores.registry.getVersionByAlias("loans", "challenger")).version).toBe("2");
      expect((await stores.audit.list({ targetId: "loans" })).at(-1)?.after).toMatchObject({
        retrain: true,
        fired: ["schedule"],
        run_id: runId,
        status: "passed",
        version: "2",
        alias: "challenger",
      });
    });
  });
}

describe("retrain-tier alerts in the alert history", () => {
  let t: TestStores | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("count for the drift trigger when recent, and other tiers do not", async () => {
    const clock = manualClock(T0);
    t = await sqliteStores({ clock: clock.now });
    const { stores } = t;
    const alerts = createAlertStore(stores.metadata, { clock: clock.now });
    const v1 = await registerTrained(stores, 0.8);
    await promoteAlias(stores.registry, { name: "loans", version: v1.version, approver: "ana", reason: "first" });
    // One unresolved alert per rule and target: each rule here has its own dedup key.
    const alert = (tier: string, summary: string, rule = tier) =>
      alerts.fire({
        ruleId: `rule-${rule}`,
        tier,
        dedupKey: `${rule}:loans`,
        modelName: "loans",
        summary,
        value: 0.3,
        threshold: 0.25,
        windowStart: clock.now() - HOUR,
        windowEnd: clock.now(),
      });
    await alert("retrain", "PSI credit_score 0.30 > 0.25");
    clock.set(T0 + 2 * DAY);
    await alert("notify", "PSI income 0.12 > 0.10");
    const policy = parseRetrainingPolicy({ ...policyJson, triggers: { drift: { lookbackHours: 24 } } });
    const deps: RetrainingDeps = { ...stores, alerts, clock: clock.now };
    // the retrain alert fired 48 h ago, outside the 24 h lookback; the notify alert is not retrain-tier
    expect((await checkRetraining(policy, deps)).decision.fired).toEqual([]);
    await alert("retrain", "rolling AUC down 6%", "auc-drop");
    const outcome = await checkRetraining(policy, deps);
    expect(outcome.decision.fired).toEqual(["drift"]);
    expect(outcome.decision.triggers[0]?.reason).toBe(
      "no feature with major drift in the last 24 h; retrain alert: rolling AUC down 6%",
    );
  });
});

describe("the retraining scheduler", () => {
  let t: TestStores | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** Timers as a list the test fires by moving the clock. */
  function fakeTimers(clock: { now: () => number; set: (v: number) => number }) {
    const pending: { at: number; fn: () => void; id: number }[] = [];
    let ids = 0;
    return {
      setTimeout: (fn: () => void, ms: number) => {
        const id = ++ids;
        pending.push({ at: clock.now() + ms, fn, id });
        return id;
      },
      clearTimeout: (id: unknown) => {
        const i = pending.findIndex((p) => p.id === id);
        if (i >= 0) pending.splice(i, 1);
      },
      pending,
      /** Moves the clock to `to`, firing due timers in order. */
      advance(to: number) {
        for (;;) {
          pending.sort((a, b) => a.at - b.at);
          const first = pending[0];
          if (first === undefined || first.at > to) break;
          pending.shift();
          clock.set(first.at);
          first.fn();
        }
        clock.set(to);
      },
    };
  }

  it("on two replicas with leases, each due time is checked once, and a replica takes over an expired lease", async () => {
    const clock = manualClock(Date.parse("2024-06-01T10:30:00Z"));
    t = await sqliteStores({ clock: clock.now });
    const { stores } = t;
    const v1 = await registerTrained(stores, 0.8);
    await promoteAlias(stores.registry, { name: "loans", version: v1.version, approver: "ana", reason: "first" });
    const timers = fakeTimers(clock);
    const outcomes: string[] = [];
    const leases = createLeaseStore(stores.metadata, { clock: clock.now });
    const replica = (holder: string) =>
      startRetrainingScheduler({
        policies: [
          {
            policy: parseRetrainingPolicy({ ...policyJson, schedule: "0 */6 * * *", triggers: { drift: {} } }),
            baseDir: "/p",
          },
        ],
        deps: {
          ...stores,
          clock: clock.now,
          runPipeline: () => Promise.reject(new Error("no run is due in this test")),
        },
        timers,
        onOutcome: (model, o) => outcomes.push(`${holder} ${model}@${new Date(o.decision.at).toISOString()}`),
        leases: (job) => leases.lease(job, holder, HOUR),
      });
    const a = replica("a");
    const b = replica("b");
    timers.advance(Date.parse("2024-06-01T12:00:00Z"));
    await Promise.all([a.idle(), b.idle()]);
    expect(outcomes.map((o) => o.slice(2))).toEqual(["loans@2024-06-01T12:00:00.000Z"]);
    const first = outcomes[0]!.slice(0, 1);
    // the holder dies (its timers stop); at 18:00 its lease has expired and the other checks
    (first === "a" ? a : b).stop();
    timers.advance(Date.parse("2024-06-01T18:00:00Z"));
    await Promise.all([a.idle(), b.idle()]);
    expect(outcomes).toHaveLength(2);
    expect(outcomes[1]).toBe(`${first === "a" ? "b" : "a"} loans@2024-06-01T18:00:00.000Z`);
    a.stop();
    b.stop();
  });

  it("checks each policy when its cron schedule is due, and at once on a retrain alert", async () => {
    const clock = manualClock(Date.parse("2024-06-01T10:30:00Z"));
    t = await sqliteStores({ clock: clock.now });
    const { stores } = t;
    const v1 = await registerTrained(stores, 0.8);
    await promoteAlias(stores.registry, { name: "loans", version: v1.version, approver: "ana", reason: "first" });
    const timers = fakeTimers(clock);
    const runs: Record<string, string>[] = [];
    const outcomes: string[] = [];
    const scheduler = startRetrainingScheduler({
      policies: [
        {
          policy: parseRetrainingPolicy({ ...policyJson, schedule: "0 */6 * * *", triggers: { drift: {} } }),
          baseDir: "/p",
        },
      ],
      deps: {
        ...stores,
        clock: clock.now,
        runPipeline: async (_file, tags) => {
          runs.push({ ...tags });
          const r = await registerTrained(stores, 0.82, tags);
          return { status: "passed", runId: r.runId, registered: { version: r.version, alias: "challenger" } };
        },
      },
      timers,
      onOutcome: (model, o) =>
        outcomes.push(`${model}@${new Date(o.decision.at).toISOString()}:${o.decision.fired.join(",")}`),
    });
    // 10:30 → the next 6-hourly check is at 12:00
    expect(scheduler.nextChecks()).toEqual({ loans: Date.parse("2024-06-01T12:00:00Z") });
    timers.advance(Date.parse("2024-06-01T11:59:00Z"));
    await scheduler.idle();
    expect(outcomes).toEqual([]);
    timers.advance(Date.parse("2024-06-01T12:00:00Z"));
    await scheduler.idle();
    expect(outcomes).toEqual(["loans@2024-06-01T12:00:00.000Z:"]);
    expect(scheduler.nextChecks()).toEqual({ loans: Date.parse("2024-06-01T18:00:00Z") });
    expect(runs).toEqual([]);

    clock.set(Date.parse("2024-06-01T13:15:00Z"));
    const alerted = await scheduler.onRetrainAlert("loans", "PSI credit_score 0.31 > 0.25 (retrain tier)");
    expect(alerted?.decision.fired).toEqual(["drift"]);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.["keel.retrain.reason"]).toBe(
      "drift: no feature with major drift in the last 24 h; retrain alert: PSI credit_score 0.31 > 0.25 (retrain tier)",
    );
    expect(await scheduler.onRetrainAlert("fraud", "no policy")).toBeUndefined();
    // through the alert engine's listener: only fired retrain-tier alerts start a check
    const listen = retrainAlertListener(scheduler);
    await listen({ action: "resolved", alert: { tier: "retrain", modelName: "loans", summary: "cleared" } });
    await listen({
      action: "fired",
      alert: { tier: "page", modelName: "loans", summary: "KS p < 0.01 on 3 features" },
    });
    expect(runs).toHaveLength(1);
    clock.set(Date.parse("2024-06-01T14:00:00Z"));
    await listen({ action: "fired", alert: { tier: "retrain", modelName: "loans", summary: "PSI dti 0.28 > 0.25" } });
    expect(runs).toHaveLength(2);
    expect(runs[1]?.["keel.retrain.reason"]).toContain("retrain alert: PSI dti 0.28 > 0.25");
    expect((await stores.registry.getVersionByAlias("loans", "champion")).version).toBe("1");

    scheduler.stop();
    expect(timers.pending).toEqual([]);
    const decisions = (await stores.audit.list({ targetId: "loans" })).filter(
      (r) => r.action === "retraining.decision",
    );
    expect(decisions.map((r) => [r.time, (r.after as { fired: string[] }).fired])).toEqual([
      [Date.parse("2024-06-01T12:00:00Z"), []],
      [Date.parse("2024-06-01T13:15:00Z"), ["drift"]],
      [Date.parse("2024-06-01T14:00:00Z"), ["drift"]],
    ]);
  });
});
