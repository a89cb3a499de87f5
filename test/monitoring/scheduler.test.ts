import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/errors.js";
import {
  AlertEngine,
  DEFAULT_ALERT_RULES,
  MonitorScheduler,
  parseMonitoringConfig,
} from "../../src/monitoring/index.js";
import type { MonitorJobDeps, MonitoringConfig, WindowRun } from "../../src/monitoring/index.js";
import { createAlertStore } from "../../src/store/alert-history-sql.js";
import type { InferenceRecord } from "../../src/store/inference-log.js";
import { sqliteStores, type TestStores } from "../store/backends.js";
import { ManualTimers } from "../runtime/manual-timers.js";
import { recordingLogger } from "../runtime/recording-logger.js";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const at = (h: number, m = 0) => Date.UTC(2024, 5, 1, h, m);
const iso = (ms: number) => new Date(ms).toISOString();

let open: TestStores;
let jobs: MonitorJobDeps;

function record(model: string, time: number, i: number): InferenceRecord {
  return {
    requestId: `${model}-${time}-${i}`,
    time,
    endpoint: model,
    modelName: model,
    modelVersion: "1",
    route: "champion",
    features: { x: i },
    outputs: { score: 0.1 },
    latencyMs: 1,
  };
}

/** `n` records of `model` spread over the hour starting at `start`. */
function hourOf(model: string, start: number, n: number): InferenceRecord[] {
  return Array.from({ length: n }, (_, i) => record(model, start + i * MINUTE, i));
}

beforeAll(async () => {
  open = await sqliteStores();
  const s = open.stores;
  jobs = { registry: s.registry, artifacts: s.artifacts, inferenceLog: s.inferenceLog, observations: s.observations };
  // "loans": 6 rows in the hour before the scheduler starts, then 10, 4, 0 and 7 rows an hour
  await s.inferenceLog.append(
    [
      ...hourOf("loans", at(9), 6),
      ...hourOf("loans", at(10), 10),
      ...hourOf("loans", at(11), 4),
      ...hourOf("loans", at(13), 7),
    ],
    { durability: "sync" },
  );
});

afterAll(async () => {
  await open.close();
});

/** Only the listed models: these tests count the windows of one model. */
function config(models: MonitoringConfig["models"], delayMinutes = 5): MonitoringConfig {
  return { models, champions: false, delayMinutes };
}

describe("MonitorScheduler", () => {
  it("runs a window only after it closed plus delayMinutes, oldest first, each once, without back-fill", async () => {
    let now = at(10, 30);
    const timers = new ManualTimers();
    const log: Record<string, unknown>[] = [];
    const scheduler = new MonitorScheduler({
      jobs,
      config: config([{ name: "loans", windows: ["hourly", "daily"] }]),
      clock: () => now,
      timers,
      logger: recordingLogger(log),
    });
    scheduler.start();
    // [10:00, 11:00) closes at 11:00 and runs 5 minutes later; the day at 00:05 tomorrow
    expect(scheduler.nextDue()).toBe(at(11, 5));
    expect(timers.armed.map((t) => t.ms)).toEqual([35 * MINUTE]);
    // [09:00, 10:00) closed before the start: not back-filled
    expect(await scheduler.runDue()).toEqual([]);
    now = at(11, 5) - 1;
    expect(await scheduler.runDue()).toEqual([]);

    // the timer fires at 11:05: one window, then the timer is armed for 12:05
    now = at(11, 5);
    await timers.fire();
    expect(log.map((e) => e.msg)).toEqual(["monitor loans hourly window 2024-06-01T10:00:00.000Z: 10 rows"]);
    expect(timers.last.ms).toBe(HOUR);

    // three hours late: the three closed hours run in order, each against the hour before it
    now = at(14, 20);
    const late = await scheduler.runDue();
    expect(late.map((r) => [r.cadence, iso(r.result!.windowStart), iso(r.result!.windowEnd), r.result!.rows])).toEqual([
      ["hourly", iso(at(11)), iso(at(12)), 4],
      ["hourly", iso(at(12)), iso(at(13)), 0],
      ["hourly", iso(at(13)), iso(at(14)), 7],
    ]);
    expect(late.map((r) => r.result!.previousRows)).toEqual([10, 4, 0]);
    const drop = late[0]!.result!.observations.find((o) => o.metric === "volume_change");
    expect(drop).toMatchObject({ value: -0.6, severity: "violation" });
    expect(await scheduler.runDue()).toEqual([]);

    // 00:05 the next day: the ten remaining hours, then the day [06-01, 06-02) with every row of it
    now = at(24, 5);
    const day = await scheduler.runDue();
    expect(day.map((r) => r.cadence)).toEqual([...Array<string>(10).fill("hourly"), "daily"]);
    expect(day.map((r) => iso(r.result!.windowStart))).toEqual([
      ...Array.from({ length: 10 }, (_, i) => iso(at(14 + i))),
      iso(at(0)),
    ]);
    expect(day[10]!.result!).toMatchObject({ windowEnd: at(24), rows: 6 + 10 + 4 + 7 });

    // every window ran once: one log line each, none for 09:00
    const messages = log.map((e) => String(e.msg));
    expect(new Set(messages).size).toBe(messages.length);
    expect(messages).toHaveLength(1 + 3 + 11);
    const stored = await open.stores.observations.query({
      modelName: "loans",
      kind: "volume",
      metric: "request_count",
    });
    expect(stored.filter((o) => o.windowEnd - o.windowStart === HOUR).map((o) => o.windowStart)).toEqual(
      Array.from({ length: 14 }, (_, i) => at(10 + i)),
    );
    await scheduler.stop();
    expect(timers.cleared).toEqual([timers.last.handle]);
  });

  it("evaluates alerts after a model's windows ran; a failing job is logged and does not stop the others", async () => {
    let now = at(10, 30);
    const timers = new ManualTimers();
    const log: Record<string, unknown>[] = [];
    const clock = () => now;
    const alerts = new AlertEngine({
      observations: open.stores.observations,
      alerts: createAlertStore(open.stores.metadata, { clock }),
      // fires on a window without traffic: only the windows this run writes can make it fire
      rules: [
        {
          id: "no_traffic",
          tier: "page",
          kind: "volume",
          metric: "request_count",
          condition: "below",
          threshold: 1,
        },
      ],
      sinks: [],
      clock,
    });
    const scheduler = new MonitorScheduler({
      jobs,
      // ghost: a version that does not exist, so each of its windows fails
      config: config([
        { name: "ghost", version: "9", windows: ["hourly"] },
        { name: "quiet", windows: ["hourly"] },
      ]),
      alerts,
      clock,
      timers,
      logger: recordingLogger(log),
    });
    scheduler.start();
    now = at(13, 5);
    const runs: WindowRun[] = await scheduler.runDue();
    expect(runs.map((r) => [r.model, r.result !== undefined, r.error !== undefined, r.alerts !== undefined])).toEqual([
      ["ghost", false, true, false],
      ["ghost", false, true, false],
      ["ghost", false, true, false],
      ["quiet", true, false, false],
      ["quiet", true, false, false],
      ["quiet", true, false, false],
      ["quiet", false, false, true],
    ]);
    expect(runs[0]?.error).toContain('name="ghost", version=9');
    const errors = log.filter((e) => e.level === "error").map((e) => String(e.msg));
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(
      /^monitor ghost hourly window 2024-06-01T10:00:00\.000Z failed \(attempt 1 of 3, retried with the next run\): .*not found/,
    );
    // evaluated once, after all three windows: the alert is about the latest one
    const fired = runs[6]!.alerts!.fired;
    expect(fired.map((a) => [a.ruleId, a.modelName, a.windowStart, a.windowEnd, a.value])).toEqual([
      ["no_traffic", "quiet", at(12), at(13), 0],
    ]);
    // failed windows are retried with the next two runs, then given up; nothing ran, so nothing is evaluated
    for (const attempt of [2, 3]) {
      const retried = await scheduler.runDue();
      expect(retried.map((r) => [r.model, r.error !== undefined])).toEqual(Array(3).fill(["ghost", true]));
      expect(String(log[log.length - 1]?.msg)).toContain(
        `(attempt ${attempt} of 3${attempt === 3 ? ", given up" : ", retried with the next run"})`,
      );
    }
    expect(await scheduler.runDue()).toEqual([]);
    await scheduler.stop();
  });

  it("retries a window whose job failed for a passing reason, with the next run", async () => {
    let now = at(10, 30);
    let down = true;
    const flaky: MonitorJobDeps = {
      ...jobs,
      inferenceLog: {
        query: (q) => (down ? Promise.reject(new Error("database is locked")) : jobs.inferenceLog.query(q)),
      },
    };
    const log: Record<string, unknown>[] = [];
    const scheduler = new MonitorScheduler({
      jobs: flaky,
      config: config([{ name: "loans", windows: ["hourly"] }]),
      clock: () => now,
      timers: new ManualTimers(),
      logger: recordingLogger(log),
    });
    scheduler.start();
    now = at(11, 5);
    const first = await scheduler.runDue();
    expect(first.map((r) => r.error)).toEqual(["database is locked"]);
    down = false;
    now = at(12, 5);
    const next = await scheduler.runDue();
    // the failed hour first, then the new one, each against the hour before it
    expect(next.map((r) => [iso(r.result!.windowStart), r.result!.rows, r.result!.previousRows])).toEqual([
      [iso(at(10)), 10, 6],
      [iso(at(11)), 4, 10],
    ]);
    expect(String(log[1]?.msg)).toBe("monitor loans hourly window 2024-06-01T10:00:00.000Z: 10 rows (attempt 2)");
    expect(await scheduler.runDue()).toEqual([]);
    await scheduler.stop();
  });

  it("runs LLM routes' windows with the injected job next to the models, retrying a failed one", async () => {
    let now = at(10, 30);
    const log: Record<string, unknown>[] = [];
    const calls: string[] = [];
    let down = true;
    const scheduler = new MonitorScheduler({
      jobs,
      config: config([]),
      llm: {
        routes: [{ route: "support", windows: ["hourly"] }],
        run: (route, w) => {
          calls.push(`${route} ${iso(w.start)}`);
          if (down) return Promise.reject(new Error("judge route down"));
          return Promise.resolve({ requests: 3, observations: [] });
        },
      },
      clock: () => now,
      timers: new ManualTimers(),
      logger: recordingLogger(log),
    });
    scheduler.start();
    expect((await scheduler.monitoredModels()).map((m) => [m.name, m.llmRoute])).toEqual([["support", true]]);
    now = at(11, 5);
    expect((await scheduler.runDue()).map((r) => r.error)).toEqual(["judge route down"]);
    down = false;
    now = at(12, 5);
    const next = await scheduler.runDue();
    expect(next.map((r) => [r.model, r.llm?.requests])).toEqual([
      ["support", 3],
      ["support", 3],
    ]);
    expect(calls).toEqual(["support " + iso(at(10)), "support " + iso(at(10)), "support " + iso(at(11))]);
    expect(log.map((e) => String(e.msg))).toContain(
      "monitor LLM route support hourly window 2024-06-01T10:00:00.000Z: 3 requests (attempt 2)",
    );
    await scheduler.stop();
  });

  it("queues a runDue called while another runs, so each window runs once", async () => {
    let now = at(10, 30);
    const scheduler = new MonitorScheduler({
      jobs,
      config: config([{ name: "loans", windows: ["hourly"] }]),
      clock: () => now,
      timers: new ManualTimers(),
    });
    scheduler.start();
    now = at(14, 20);
    const [first, second] = await Promise.all([scheduler.runDue(), scheduler.runDue()]);
    expect(first.map((r) => iso(r.result!.windowStart))).toEqual([iso(at(10)), iso(at(11)), iso(at(12)), iso(at(13))]);
    expect(second).toEqual([]);
    await scheduler.stop();
  });

  it("arms no timer when no model is monitored", async () => {
    const timers = new ManualTimers();
    const none = new MonitorScheduler({ jobs, config: config([]), clock: () => at(10, 30), timers });
    none.start();
    expect(none.nextDue()).toBe(Number.POSITIVE_INFINITY);
    // setTimeout(fn, Infinity) would fire after 1 ms, again after every (empty) run
    expect(timers.armed).toEqual([]);
    expect(await none.runDue()).toEqual([]);
    await none.stop();
    expect(timers.cleared).toEqual([]);
  });
});

describe("MonitorScheduler without a model list", () => {
  it("monitors every champion by default, on sub-day windows, except the models the config excludes", async () => {
    const s = open.stores;
    for (const name of ["champ", "skipped", "no-champion"]) {
      await s.registry.createRegisteredModel(name);
      await s.registry.createModelVersion({ name, source: `models/${name}` });
      await s.inferenceLog.append(hourOf(name, at(16), 5), { durability: "sync" });
    }
    await s.registry.setAlias("champ", "champion", "1");
    await s.registry.setAlias("skipped", "champion", "1");
    await s.registry.setAlias("no-champion", "challenger", "1");
    let now = at(15, 30);
    const timers = new ManualTimers();
    const scheduler = new MonitorScheduler({
      jobs,
      config: parseMonitoringConfig({ exclude: ["skipped"], windows: ["4h"], delayMinutes: 5 }),
      clock: () => now,
      timers,
    });
    scheduler.start();
    // 4-hour windows: [12:00, 16:00) closes at 16:00, and champions are looked for then, though none was known at the start
    expect(scheduler.nextDue()).toBe(at(16, 5));
    expect(timers.armed.map((t) => t.ms)).toEqual([35 * MINUTE]);
    expect((await scheduler.monitoredModels()).map((m) => [m.name, m.windows])).toEqual([["champ", ["4h"]]]);
    now = at(20, 5);
    const runs = await scheduler.runDue();
    expect(
      runs.map((r) => [r.model, r.cadence, iso(r.result!.windowStart), iso(r.result!.windowEnd), r.result!.rows]),
    ).toEqual([["champ", "4h", iso(at(16)), iso(at(20)), 5]]);
    await scheduler.stop();
  });
});

describe("parseMonitoringConfig", () => {
  it("fills the defaults: daily windows, a 5-minute delay, the seed's rules and the log sink left to the engine", () => {
    expect(parseMonitoringConfig({ models: [{ name: "loans" }] })).toEqual({
      models: [{ name: "loans", windows: ["daily"] }],
      delayMinutes: 5,
    });
    const full = parseMonitoringConfig({
      models: [
        {
          name: "loans",
          version: "3",
          endpoint: "loans-eu",
          windows: ["hourly", "daily", "hourly"],
          minDriftRows: 500,
          quality: { nullRateFactor: 3, outOfRangeRate: 0.01, volumeDrop: 0.5 },
        },
      ],
      delayMinutes: 0,
      rules: DEFAULT_ALERT_RULES,
      sinks: [{ type: "slack", url: "https://hooks.slack.com/services/T/B/X", tiers: ["page"] }],
    });
    expect(full.models[0]).toEqual({
      name: "loans",
      version: "3",
      endpoint: "loans-eu",
      windows: ["hourly", "daily"],
      minDriftRows: 500,
      quality: { nullRateFactor: 3, outOfRangeRate: 0.01, volumeDrop: 0.5 },
    });
    expect(full.delayMinutes).toBe(0);
    expect(full.rules).toEqual(DEFAULT_ALERT_RULES);
    expect(full.sinks).toEqual([{ type: "slack", url: "https://hooks.slack.com/services/T/B/X", tiers: ["page"] }]);
  });

  it("refuses bad fields with an INVALID_PARAMETER_VALUE naming each one", () => {
    const model = { name: "loans" };
    const cases: [unknown, string][] = [
      [[], "(root)"],
      ["loans", "(root)"],
      [{ model: [model] }, "model"],
      [{ models: { loans: {} } }, "models"],
      [{ champions: "yes" }, "champions"],
      [{ exclude: [""] }, "exclude[0]"],
      [{ windows: ["90s"] }, "windows[0]"],
      [{ windows: ["32d"] }, "windows[0]"],
      [{ models: [null] }, "models[0]"],
      [{ models: [model, { name: "" }] }, "models[1].name"],
      [{ models: [{ nam: "loans" }] }, "models[0].nam"],
      [{ models: [{ ...model, version: 3 }] }, "models[0].version"],
      [{ models: [{ ...model, endpoint: "" }] }, "models[0].endpoint"],
      [{ models: [{ ...model, windows: ["weekly"] }] }, "models[0].windows[0]"],
      [{ models: [{ ...model, windows: [] }] }, "models[0].windows"],
      [{ models: [{ ...model, windows: "daily" }] }, "models[0].windows"],
      [{ models: [{ ...model, minDriftRows: 0 }] }, "models[0].minDriftRows"],
      [{ models: [{ ...model, minDriftRows: 2.5 }] }, "models[0].minDriftRows"],
      [{ models: [{ ...model, quality: 0.3 }] }, "models[0].quality"],
      [{ models: [{ ...model, quality: { nullRate: 2 } }] }, "models[0].quality.nullRate"],
      [{ models: [{ ...model, quality: { volumeDrop: -0.3 } }] }, "models[0].quality.volumeDrop"],
      [{ models: [{ ...model, quality: { volumeDrop: "30%" } }] }, "models[0].quality.volumeDrop"],
      [{ models: [model], delayMinutes: -1 }, "delayMinutes"],
      [{ models: [model], delayMinutes: "5" }, "delayMinutes"],
      [{ models: [model], rules: [{ ...DEFAULT_ALERT_RULES[0], tier: "urgent" }] }, "rules[0].tier"],
      [{ models: [model], rules: [{ ...DEFAULT_ALERT_RULES[0], threshold: "0.1" }] }, "rules[0].threshold"],
      [{ models: [model], rules: [DEFAULT_ALERT_RULES[0], DEFAULT_ALERT_RULES[0]] }, "rules[1].id"],
      [{ models: [model], sinks: [{ type: "email" }] }, "sinks[0].type"],
      [{ models: [model], sinks: [{ type: "log" }, { type: "webhook", url: "ftp://x" }] }, "sinks[1].url"],
      [{ models: [model], sinks: [{ type: "pagerduty" }] }, "sinks[0].routingKey"],
    ];
    for (const [json, field] of cases) {
      let error: unknown;
      try {
        parseMonitoringConfig(json);
      } catch (e) {
        error = e;
      }
      const what = JSON.stringify(json);
      expect(error, what).toBeInstanceOf(KeelError);
      expect((error as KeelError).code, what).toBe("INVALID_PARAMETER_VALUE");
      expect((error as KeelError).details?.field, what).toBe(field);
      expect((error as KeelError).message, what).toContain(field);
    }
  });
});
