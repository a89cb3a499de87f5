import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestLabels, joinLabels } from "../../src/monitoring/labels.js";
import { evaluatePerformance, recordPerformance, type PerformanceReport } from "../../src/monitoring/performance.js";
import { MonitorScheduler } from "../../src/monitoring/scheduler.js";
import { registerMonitoringMetrics } from "../../src/monitoring/prometheus.js";
import { Registry } from "prom-client";
import type { InferenceRecord } from "../../src/store/inference-log.js";
import { sqliteStores, type TestStores } from "../store/backends.js";
import { DAY, T0, direct, labelsFor, loanLog, regionOf, type Direct, type LoggedLoan } from "./loan-log.js";
import { lineLogger } from "../../src/runtime/index.js";

const AS_OF = T0 + 40 * DAY;

function expectMatches(got: PerformanceReport["overall"], want: Direct): void {
  expect([got.predictions, got.labelled, got.positives]).toEqual([want.predictions, want.labelled, want.positives]);
  for (const key of ["auc", "precision", "recall", "fnr", "ece", "decisionRate"] as const) {
    const w = want[key];
    const g = got[key];
    if (w === null) expect(g, key).toBeNull();
    else expect(g, key).toBeCloseTo(w, 12);
  }
}

describe("rolling performance from delayed labels (40 days of a logged loan model)", () => {
  let t: TestStores;
  let log: LoggedLoan[];

  const loansIn = (from: number, to: number) => log.filter((l) => l.record.time >= from && l.record.time < to);

  beforeAll(async () => {
    t = await sqliteStores({ clock: () => AS_OF + DAY });
    log = loanLog({ seed: 11, days: 40, perDay: 60 });
    // another model scoring the same applicants: its predictions must not take the loan model's labels
    const other = loanLog({ seed: 12, days: 40, perDay: 10, modelName: "fraud" });
    // and a shadow version answering every loan request: never served, so never evaluated
    const shadowed = log.map((l) => ({
      ...l.record,
      shadows: [
        {
          modelName: "loans",
          modelVersion: "9",
          outputs: { score: 1 - (l.record.outputs.score as number) },
          latencyMs: 1,
        },
      ],
    }));
    await t.stores.inferenceLog.append([...shadowed, ...other.map((l) => l.record)], { durability: "sync" });
  }, 60_000);
  afterAll(async () => t.close());

  it("ingests labels by request id and by entity + time, counting matched and unmatched, idempotently", async () => {
    const labels = labelsFor(log, "outcomes.csv");
    const strays = [
      { requestId: "never-logged", label: 1, source: "outcomes.csv" },
      // before the applicant's first prediction: nothing to join to
      { entityId: "app-1", time: T0 - DAY, label: 0, source: "outcomes.csv" },
    ];
    const first = await ingestLabels(t.stores.labels, [...labels, ...strays], { actor: "ops" });
    expect(first).toEqual({
      received: labels.length + 2,
      inserted: labels.length + 2,
      updated: 0,
      unchanged: 0,
      matched: labels.length,
      unmatched: 2,
    });
    const again = await ingestLabels(t.stores.labels, labels, { actor: "ops" });
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: labels.length, matched: labels.length });
    expect(log.filter((l) => l.labelledBy === "entity").length).toBeGreaterThan(500);
    expect(log.filter((l) => l.labelledBy === "request").length).toBeGreaterThan(500);
  });

  // The last case ends 10 days before the log does: labels of applicants scored again after the
  // window belong to those later predictions, not to the ones in the window.
  for (const [windowDays, asOf] of [
    [7, AS_OF],
    [30, AS_OF],
    [7, AS_OF - 10 * DAY],
  ] as const) {
    it(`${windowDays}-day window to day ${(asOf - T0) / DAY}: AUC, precision, recall, FNR, ECE and decision rate equal a direct computation, overall and per region`, async () => {
      const start = asOf - windowDays * DAY;
      const rows = log.filter((l) => l.record.time >= start && l.record.time < asOf);
      const report = await evaluatePerformance(
        { inferenceLog: t.stores.inferenceLog, labels: t.stores.labels },
        { modelName: "loans", asOf, windowDays, segment: "region" },
      );
      expect([report.windowStart, report.windowEnd]).toEqual([start, asOf]);
      expectMatches(report.overall, direct(rows));
      const regions = [...new Set(rows.map(regionOf))].sort();
      expect(report.segments.map((g) => g.segment)).toEqual(regions.map((r) => `region=${r}`));
      for (const g of report.segments) {
        expectMatches(g, direct(rows.filter((r) => `region=${regionOf(r)}` === g.segment)));
      }

      // Fairness across regions: demographic parity on all predictions, equal opportunity on labelled positives.
      const byRegion = regions.map((r) => direct(rows.filter((x) => regionOf(x) === r)));
      const rates = byRegion.map((d) => d.decisionRate);
      const tprs = byRegion.map((d) => d.recall).filter((v): v is number => v !== null);
      expect(report.fairness?.demographicParityGap).toBeCloseTo(Math.max(...rates) - Math.min(...rates), 12);
      expect(report.fairness?.equalOpportunityGap).toBeCloseTo(Math.max(...tprs) - Math.min(...tprs), 12);
      expect(report.fairness?.demographicParityGap).toBeGreaterThan(0.05);

      // Decision-rate shift against the window before, over every logged prediction.
      const before = log.filter((l) => l.record.time >= start - windowDays * DAY && l.record.time < start);
      const prev = direct(before).decisionRate;
      const cur = direct(rows).decisionRate;
      expect(report.decisionRate.previous).toBeCloseTo(prev, 12);
      expect(report.decisionRate.relativeChange).toBeCloseTo((cur - prev) / prev, 12);
    });
  }

  it("writes the rolling metrics as performance and fairness observations", async () => {
    const sources = {
      inferenceLog: t.stores.inferenceLog,
      labels: t.stores.labels,
      observations: t.stores.observations,
    };
    await recordPerformance(sources, { modelName: "loans", asOf: AS_OF, segment: "region" });
    const rows30 = log.filter((l) => l.record.time >= AS_OF - 30 * DAY && l.record.time < AS_OF);
    const rows7 = log.filter((l) => l.record.time >= AS_OF - 7 * DAY && l.record.time < AS_OF);
    const one = async (metric: string, segment?: string) => {
      const found = (await t.stores.observations.query({ modelName: "loans", metric })).filter(
        (o) => o.segment === segment && o.modelVersion === undefined,
      );
      expect(found, metric).toHaveLength(1);
      return found[0]!;
    };
    expect((await one("auc_7d")).value).toBeCloseTo(direct(rows7).auc!, 12);
    expect((await one("fnr_30d")).value).toBeCloseTo(direct(rows30).fnr!, 12);
    const north = rows30.filter((r) => regionOf(r) === "north");
    const precisionNorth = await one("precision_30d", "region=north");
    expect(precisionNorth.value).toBeCloseTo(direct(north).precision!, 12);
    expect(precisionNorth).toMatchObject({ kind: "performance", windowStart: AS_OF - 30 * DAY, windowEnd: AS_OF });
    const ece = await one("ece_30d");
    expect((ece.detail?.bins as unknown[]).length).toBe(10);
    const dp = await one("demographic_parity_gap_30d");
    expect(dp).toMatchObject({ kind: "fairness", feature: "region" });
    expect((await one("decision_rate_shift_7d")).kind).toBe("performance");
  });

  it("is recorded by the monitor scheduler after each daily window, as of the window's end", async () => {
    const asOf = AS_OF - 3 * DAY;
    let now = asOf - DAY + 10 * 60_000;
    const log: string[] = [];
    const scheduler = new MonitorScheduler({
      jobs: {
        registry: t.stores.registry,
        artifacts: t.stores.artifacts,
        inferenceLog: t.stores.inferenceLog,
        observations: t.stores.observations,
      },
      config: { models: [{ name: "loans", windows: ["daily"] }], delayMinutes: 5 },
      labels: t.stores.labels,
      clock: () => now,
      timers: { setTimeout: () => 0, clearTimeout: () => undefined },
      logger: lineLogger(
        (line) => log.push(line),
        (line) => log.push(line),
      ),
    });
    scheduler.start();
    now = asOf + 10 * 60_000;
    const runs = await scheduler.runDue();
    const reports = runs.find((r) => r.performance !== undefined)?.performance;
    expect(reports?.map((r) => [r.windowDays, r.windowEnd])).toEqual([
      [7, asOf],
      [30, asOf],
    ]);
    const rows7 = loansIn(asOf - 7 * DAY, asOf);
    expect(reports?.[0]?.overall.auc).toBeCloseTo(direct(rows7).auc!, 12);
    const stored = (await t.stores.observations.query({ modelName: "loans", metric: "auc_7d" })).filter(
      (o) => o.windowEnd === asOf,
    );
    // pooled and version 1's series: one version served, so the two agree
    expect(stored.map((o) => [o.modelVersion, o.value])).toEqual([
      [undefined, reports?.[0]?.overall.auc],
      ["1", reports?.[0]?.overall.auc],
    ]);
    expect(log).toContain(
      `performance loans as of ${new Date(asOf).toISOString()}: ${direct(rows7).labelled} labelled of ${rows7.length} predictions`,
    );
    await scheduler.stop();
  });

  it("records sub-day windows (FNR over 4 hours) as of each 4-hour window's end, the 7-day one only at midnight", async () => {
    const HOUR = 3_600_000;
    const asOf = AS_OF - 2 * DAY + 16 * HOUR;
    let now = asOf - 4 * HOUR + 10 * 60_000;
    const scheduler = new MonitorScheduler({
      jobs: {
        registry: t.stores.registry,
        artifacts: t.stores.artifacts,
        inferenceLog: t.stores.inferenceLog,
        observations: t.stores.observations,
      },
      config: {
        models: [{ name: "loans", windows: ["4h"] }],
        champions: false,
        performanceWindows: ["4h", "7d"],
        delayMinutes: 5,
      },
      labels: t.stores.labels,
      clock: () => now,
      timers: { setTimeout: () => 0, clearTimeout: () => undefined },
    });
    scheduler.start();
    now = asOf + 10 * 60_000;
    const runs = await scheduler.runDue();
    const reports = runs.flatMap((r) => r.performance ?? []);
    expect(reports.map((r) => [r.windowDays * 24, r.windowStart, r.windowEnd])).toEqual([[4, asOf - 4 * HOUR, asOf]]);
    const rows = loansIn(asOf - 4 * HOUR, asOf);
    const want = direct(rows);
    expect(want.labelled).toBeGreaterThan(0);
    expectMatches(reports[0]!.overall, want);
    const stored = (await t.stores.observations.query({ modelName: "loans", metric: "decision_rate_4h" })).filter(
      (o) => o.modelVersion === undefined,
    );
    expect(stored.map((o) => [o.windowEnd, o.value])).toEqual([[asOf, want.decisionRate]]);
    expect(want.fnr).not.toBeNull();
    const fnr = (await t.stores.observations.query({ modelName: "loans", metric: "fnr_4h" })).filter(
      (o) => o.modelVersion === undefined,
    );
    expect(fnr.map((o) => o.windowEnd)).toEqual([asOf]);
    expect(fnr[0]?.value).toBeCloseTo(want.fnr!, 12);
    await scheduler.stop();
  });
});

describe("joinLabels", () => {
  const p = (requestId: string, time: number, entityId?: string): InferenceRecord => ({
    requestId,
    time,
    endpoint: "e",
    modelName: "m",
    modelVersion: "1",
    route: "champion",
    ...(entityId !== undefined ? { entityId } : {}),
    features: {},
    outputs: { score: 0.5 },
    latencyMs: 0,
  });

  it("gives each prediction the label of its request id, else of the latest entity label it is the last prediction before", () => {
    const predictions = [p("a", 10, "x"), p("b", 20, "x"), p("c", 30, "x"), p("d", 15, "y"), p("e", 40)];
    const labels = joinLabels(predictions, [
      // x: 12 and 19 land on a (time 10); the later one (19) wins
      { entityId: "x", time: 19, label: 1, receivedAt: 1, source: "s" },
      { entityId: "x", time: 12, label: 0, receivedAt: 2, source: "s" },
      // exactly at b's time: b
      { entityId: "x", time: 20, label: 0, receivedAt: 1, source: "s" },
      // c has a request-id label, which beats the entity label at 99
      { entityId: "x", time: 99, label: 1, receivedAt: 1, source: "s" },
      { requestId: "c", label: 0, receivedAt: 1, source: "s" },
      // before y's only prediction: no match
      { entityId: "y", time: 14, label: 1, receivedAt: 1, source: "s" },
      { requestId: "e", label: 1, receivedAt: 1, source: "s" },
    ]);
    expect([...labels]).toEqual([1, 0, 0, NaN, 1]);
  });
});

describe("rolling performance by model version (a champion and a canary taking a quarter of the traffic)", () => {
  let t: TestStores;
  let log: LoggedLoan[];
  const asOf = T0 + 14 * DAY;

  beforeAll(async () => {
    t = await sqliteStores({ clock: () => asOf + DAY });
    // Every fourth request goes to version 2 on the canary route, which scores differently (a sharper model).
    log = loanLog({ seed: 21, days: 14, perDay: 80 }).map((l, i) => {
      if (i % 4 !== 0) return l;
      const s = l.record.outputs.score as number;
      const score = Math.round(1000 * (l.outcome === 1 ? Math.sqrt(s) : s * s)) / 1000;
      return { ...l, record: { ...l.record, modelVersion: "2", route: "canary", outputs: { score } } };
    });
    await t.stores.inferenceLog.append(
      log.map((l) => l.record),
      { durability: "sync" },
    );
    await ingestLabels(t.stores.labels, labelsFor(log, "outcomes.csv"), { actor: "ops" });
  }, 60_000);
  afterAll(async () => t.close());

  it("reports each version's AUC, precision, recall, FNR, ECE and decision rate as a direct computation on its own predictions, and the pooled figures on all", async () => {
    const rows = log.filter((l) => l.record.time >= asOf - 7 * DAY && l.record.time < asOf);
    const report = await evaluatePerformance(
      { inferenceLog: t.stores.inferenceLog, labels: t.stores.labels },
      { modelName: "loans", asOf, windowDays: 7 },
    );
    expectMatches(report.overall, direct(rows));
    expect(report.versions.map((g) => [g.modelVersion, g.routes])).toEqual([
      ["1", ["champion"]],
      ["2", ["canary"]],
    ]);
    for (const g of report.versions)
      expectMatches(g, direct(rows.filter((r) => r.record.modelVersion === g.modelVersion)));
    // the canary is the better model, and pooling would hide it
    const [v1, v2] = report.versions;
    expect(v2!.auc! - v1!.auc!).toBeGreaterThan(0.05);
  });

  it("stores per-version observations and exports them as keel_monitoring_performance{model_version}", async () => {
    await recordPerformance(
      { inferenceLog: t.stores.inferenceLog, labels: t.stores.labels, observations: t.stores.observations },
      { modelName: "loans", asOf, windows: [7] },
    );
    const rows = log.filter((l) => l.record.time >= asOf - 7 * DAY && l.record.time < asOf);
    const registry = new Registry();
    registerMonitoringMetrics(registry, t.stores.observations, { clock: () => asOf + 3_600_000 });
    const gauge = (await registry.getSingleMetric("keel_monitoring_performance")!.get()).values;
    const sample = (version: string, metric: string) => {
      const found = gauge.filter((v) => v.labels.model_version === version && v.labels.metric === metric);
      expect(found, `${version} ${metric}`).toHaveLength(1);
      return found[0]!.value;
    };
    for (const version of ["1", "2"]) {
      const mine = direct(rows.filter((r) => r.record.modelVersion === version));
      expect(sample(version, "auc_7d")).toBeCloseTo(mine.auc!, 12);
      expect(sample(version, "fnr_7d")).toBeCloseTo(mine.fnr!, 12);
      expect(sample(version, "decision_rate_7d")).toBeCloseTo(mine.decisionRate, 12);
    }
    expect(sample("", "auc_7d")).toBeCloseTo(direct(rows).auc!, 12);
    const stored = await t.stores.observations.query({ modelName: "loans", metric: "auc_7d" });
    expect(stored.find((o) => o.modelVersion === "2")?.detail).toMatchObject({ routes: ["canary"] });
  });
});
