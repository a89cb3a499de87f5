import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AlertEngine,
  REVIEW_SLA_ALERT,
  ReviewSlaMonitor,
  parseMonitoringConfig,
  type AlertEvent,
} from "../../src/monitoring/index.js";
import { startMonitoring } from "../../src/server/monitoring-wiring.js";
import { createAlertStore } from "../../src/store/alert-history-sql.js";
import { createLeaseStore, type NewReviewItem } from "../../src/store/index.js";
import { rejected } from "../keel-error.js";
import { ManualTimers } from "../runtime/manual-timers.js";
import { recordingLogger } from "../runtime/recording-logger.js";
import { sqliteStores, type TestStores } from "../store/backends.js";

const MINUTE = 60_000;
const T0 = Date.UTC(2024, 5, 1, 9);

const item = (endpoint: string, requestId: string): NewReviewItem => ({
  endpoint,
  requestId,
  modelName: "credit",
  modelVersion: "3",
  route: "champion",
  score: 0.5,
  modelDecision: "reject",
  interimDecision: "refer",
  positiveDecision: "reject",
  negativeDecision: "approve",
  reasons: ["score_band"],
  inputs: { amount: 100 },
});

describe("the review queue's SLA alert", () => {
  let open: TestStores;
  let now: number;
  let events: AlertEvent[];
  let alerts: AlertEngine;
  const clock = () => now;

  beforeEach(async () => {
    open = await sqliteStores();
    now = T0;
    events = [];
    alerts = new AlertEngine({
      observations: open.stores.observations,
      alerts: createAlertStore(open.stores.metadata, { clock }),
      sinks: [],
      clock,
    });
    alerts.onAlert((e) => void events.push(e));
  });
  afterEach(() => open.close());

  const monitor = (sla: unknown, timers = new ManualTimers()) =>
    new ReviewSlaMonitor({
      sla: parseMonitoringConfig({ reviewSla: sla }).reviewSla!,
      queue: open.stores.reviews,
      alerts,
      alertStore: createAlertStore(open.stores.metadata, { clock }),
      clock,
      timers,
    });
  const fired = () => events.filter((e) => e.action === "fired").map((e) => [e.alert.endpoint, e.alert.tier]);
  const resolved = () => events.filter((e) => e.action === "resolved").map((e) => e.alert.endpoint);

  it("on two replicas, checks run on the lease holder only: one alert, and the other replica takes over when the holder stops", async () => {
    await open.stores.reviews.enqueue([item("loans", "a-1")], T0);
    const leases = createLeaseStore(open.stores.metadata, { clock });
    const replica = (holder: string) =>
      new ReviewSlaMonitor({
        sla: parseMonitoringConfig({ reviewSla: { minutes: 30 } }).reviewSla!,
        queue: open.stores.reviews,
        alerts,
        alertStore: createAlertStore(open.stores.metadata, { clock }),
        clock,
        timers: new ManualTimers(),
        lease: leases.lease("review-sla", holder, 5 * MINUTE),
      });
    const a = replica("a");
    const b = replica("b");
    now = T0 + 31 * MINUTE;
    const [fromA, fromB] = await Promise.all([a.check(), b.check()]);
    // one replica checked (and saw loans past its SLA), the other did nothing
    expect([fromA.length, fromB.length].sort()).toEqual([0, 1]);
    expect(fired()).toEqual([["loans", "notify"]]);
    // the holder shuts down cleanly: the other checks at once
    const [holder, other] = fromA.length === 1 ? [a, b] : [b, a];
    await holder.stop();
    now = T0 + 32 * MINUTE;
    expect(await other.check()).toHaveLength(1);
    expect(await holder.check()).toEqual([]);
    expect(fired()).toEqual([["loans", "notify"]]);
  });

  it("fires once when the oldest open item passes the SLA and resolves when the queue is back under it", async () => {
    const reviews = open.stores.reviews;
    await reviews.enqueue([item("loans", "a-1")], T0);
    await reviews.enqueue([item("loans", "a-2")], T0 + 20 * MINUTE);
    await reviews.enqueue([item("cards", "c-1")], T0);
    const timers = new ManualTimers();
    // loans: 30 minutes; cards: the default hour
    const sla = monitor({ minutes: 60, endpoints: { loans: 30 }, tier: "page", checkMinutes: 5 }, timers);
    sla.start();
    expect(timers.last.ms).toBe(5 * MINUTE);

    now = T0 + 30 * MINUTE; // exactly at the SLA: not past it
    await timers.fire();
    expect(fired()).toEqual([]);

    now = T0 + 31 * MINUTE;
    await timers.fire();
    now = T0 + 35 * MINUTE;
    await timers.fire();
    // claimed items are still open
    await reviews.claim("loans", "a-1", "ana");
    now = T0 + 40 * MINUTE;
    const states = await sla.check();
    expect(states.find((s) => s.endpoint === "loans")).toMatchObject({ oldestAgeMs: 40 * MINUTE, breached: true });
    expect(fired()).toEqual([["loans", "page"]]);
    const [alert] = await open.stores.alerts.list({ ruleId: REVIEW_SLA_ALERT, unresolved: true });
    expect(alert).toMatchObject({ modelName: "credit", endpoint: "loans", value: 31, threshold: 30 });
    // later checks only kept it open
    expect(alert?.lastSeenAt).toBe(T0 + 40 * MINUTE);
    expect(alert?.summary).toContain("(a-1)");

    // the oldest is decided: a-2 has waited 20 minutes, under the SLA
    await reviews.decide("loans", "a-1", "ana", { decision: "approve", reason: "checked" });
    await sla.check();
    expect(resolved()).toEqual(["loans"]);

    // cards passes its own, longer SLA; loans passes again with a-2: a new alert
    now = T0 + 61 * MINUTE;
    await sla.check();
    expect(fired()).toEqual([
      ["loans", "page"],
      ["cards", "page"],
      ["loans", "page"],
    ]);
    // an empty queue is under any SLA
    await reviews.decide("cards", "c-1", "ana", { decision: "approve", reason: "checked" });
    await reviews.decide("loans", "a-2", "ana", { decision: "approve", reason: "checked" });
    await sla.check();
    expect(resolved().sort()).toEqual(["cards", "loans", "loans"]);
    expect(await open.stores.alerts.list({ ruleId: REVIEW_SLA_ALERT, unresolved: true })).toEqual([]);

    await sla.stop();
    expect(timers.cleared).toEqual([timers.last.handle]);
  });

  it("settles an alert left open by an earlier process, and defaults to the notify tier", async () => {
    await open.stores.reviews.enqueue([item("loans", "a-1")], T0);
    now = T0 + 11 * MINUTE;
    await monitor({ minutes: 10 }).check();
    expect(fired()).toEqual([["loans", "notify"]]);
    await open.stores.reviews.decide("loans", "a-1", "ana", { decision: "reject", reason: "ok" });
    await monitor({ minutes: 10 }).check();
    expect(resolved()).toEqual(["loans"]);
  });

  it("runs on its own timer in the server's monitoring, delivering to the config's sinks", async () => {
    await open.stores.reviews.enqueue([item("loans", "a-1")], T0);
    const timers = new ManualTimers();
    const log: Record<string, unknown>[] = [];
    const monitoring = startMonitoring(open.stores, {
      config: parseMonitoringConfig({ reviewSla: { minutes: 10, checkMinutes: 2 }, champions: false }),
      clock,
      timers,
      logger: recordingLogger(log),
    });
    try {
      expect(timers.last.ms).toBe(2 * MINUTE);
      now = T0 + 12 * MINUTE;
      await timers.fire();
      const [alert] = await open.stores.alerts.list({ ruleId: REVIEW_SLA_ALERT, unresolved: true });
      expect(alert).toMatchObject({ endpoint: "loans", tier: "notify", value: 12, threshold: 10 });
      // the default sink, the log, delivered it
      expect(log.some((e) => String(e.msg).startsWith("alert fired: review queue of loans"))).toBe(true);
    } finally {
      await monitoring.stop();
    }
  });

  it("refuses a bad setting, naming the field", async () => {
    for (const [sla, message] of [
      [{}, "reviewSla.minutes = undefined: is required"],
      [{ minutes: 0 }, "reviewSla.minutes = 0: must be a finite number, > 0"],
      [{ minutes: 5, tier: "loud" }, 'reviewSla.tier = "loud": must be one of notify, retrain, page, review, business'],
      [{ minutes: 5, endpoints: { loans: "x" } }, 'reviewSla.endpoints.loans = "x": must be a finite number, > 0'],
    ] as const) {
      const e = await rejected(Promise.resolve().then(() => parseMonitoringConfig({ reviewSla: sla })));
      expect(e.message).toBe(message);
    }
  });
});
