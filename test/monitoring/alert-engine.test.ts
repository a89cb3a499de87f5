import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertEngine, DEFAULT_ALERT_RULES, deliverAlert, parseSinks } from "../../src/monitoring/index.js";
import type { AlertEvent } from "../../src/monitoring/index.js";
import { createAlertStore } from "../../src/store/alert-history-sql.js";
import type { MonitorObservation } from "../../src/store/monitor-observations.js";
import { sqliteStores, type TestStores } from "../store/backends.js";
import { silentLogger } from "../../src/runtime/index.js";
import { recordingLogger } from "../runtime/recording-logger.js";

interface Received {
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Record<string, unknown>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2024, 5, 1);

let server: Server;
let base: string;
const received: Received[] = [];
/** Paths that answer 503 this many more times before succeeding. */
const failures = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString("utf8")));
    req.on("end", () => {
      const path = req.url ?? "";
      if (path === "/slow") {
        setTimeout(() => res.end("late"), 2_000).unref();
        return;
      }
      const left = failures.get(path) ?? 0;
      if (left > 0) {
        failures.set(path, left - 1);
        res.statusCode = 503;
        res.end("busy");
        return;
      }
      received.push({ path, headers: req.headers, body: JSON.parse(data) as Record<string, unknown> });
      res.statusCode = path === "/pagerduty" ? 202 : 200;
      res.end(path === "/slack" ? "ok" : "{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function take(path: string): Received[] {
  const out = received.filter((r) => r.path === path);
  for (const r of out) received.splice(received.indexOf(r), 1);
  return out;
}

function psi(day: number, value: number): MonitorObservation {
  return {
    modelName: "loan-default",
    modelVersion: "3",
    windowStart: T0 + day * DAY,
    windowEnd: T0 + (day + 1) * DAY,
    kind: "drift",
    metric: "psi",
    feature: "credit_score",
    value,
    severity: value > 0.25 ? "major" : "stable",
  };
}

describe("alert engine with sinks over real HTTP", () => {
  let open: TestStores;
  let now = T0 + DAY + HOUR;
  const clock = () => now;
  let engine: AlertEngine;
  const logged: Record<string, unknown>[] = [];
  const events: AlertEvent[] = [];
  const retrain: string[] = [];

  beforeAll(async () => {
    open = await sqliteStores({ clock });
    engine = new AlertEngine({
      observations: open.stores.observations,
      alerts: createAlertStore(open.stores.metadata, { clock }),
      rules: DEFAULT_ALERT_RULES,
      sinks: parseSinks([
        { type: "log" },
        { type: "webhook", url: `${base}/hook`, headers: { authorization: "Bearer s3cret" } },
        { type: "slack", url: `${base}/slack`, tiers: ["notify", "retrain", "page"] },
        {
          type: "pagerduty",
          url: `${base}/pagerduty`,
          routingKey: "R0UT1NGKEY",
          source: "keel.test",
          tiers: ["retrain", "page"],
        },
      ]),
      clock,
      logger: recordingLogger(logged),
      retryDelayMs: 5,
    });
    engine.onAlert((e) => void events.push(e));
    // the retraining policy's hook: retrain-tier alerts start a retraining run
    engine.onAlert((e) => {
      if (e.action === "fired" && e.alert.tier === "retrain") retrain.push(`${e.alert.modelName}: ${e.alert.summary}`);
    });
  });
  afterAll(async () => {
    await open.close();
  });

  it("fires notify and retrain on PSI 0.31 and delivers each payload field by field", async () => {
    await open.stores.observations.append([psi(0, 0.31)]);
    const r = await engine.evaluate("loan-default");
    expect(r.fired.map((a) => a.ruleId).sort()).toEqual(["credit_score_psi_notify", "credit_score_psi_retrain"]);
    const retrainAlert = r.fired.find((a) => a.tier === "retrain")!;
    expect(retrain).toEqual(["loan-default: loan-default v3 (credit_score): psi = 0.31 > 0.25"]);
    expect(events.map((e) => [e.action, e.alert.tier]).sort()).toEqual([
      ["fired", "notify"],
      ["fired", "retrain"],
    ]);

    // generic webhook: the alert as JSON, with the configured header
    const hooks = take("/hook");
    expect(hooks.length).toBe(2);
    const hook = hooks.find((h) => (h.body.alert as { tier: string }).tier === "retrain")!;
    expect(hook.headers.authorization).toBe("Bearer s3cret");
    expect(hook.headers["content-type"]).toBe("application/json");
    expect(hook.body.event).toBe("alert.fired");
    expect(hook.body.alert).toEqual({
      id: retrainAlert.id,
      rule_id: "credit_score_psi_retrain",
      tier: "retrain",
      status: "open",
      dedup_key: "credit_score_psi_retrain|loan-default|3||credit_score|",
      model_name: "loan-default",
      model_version: "3",
      endpoint: null,
      feature: "credit_score",
      segment: null,
      summary: "loan-default v3 (credit_score): psi = 0.31 > 0.25",
      value: 0.31,
      threshold: 0.25,
      window_start: "2024-06-01T00:00:00.000Z",
      window_end: "2024-06-02T00:00:00.000Z",
      fired_at: new Date(now).toISOString(),
      last_seen_at: new Date(now).toISOString(),
      resolved_at: null,
      acknowledged_at: null,
      acknowledged_by: null,
      detail: { rule: "PSI on credit_score above 0.25", observed: 0.31 },
    });

    // Slack: text fallback and blocks
    const slack = take("/slack").find((s) => (s.body.text as string).includes("RETRAIN"))!;
    expect(slack.body.text).toBe(
      "[keel RETRAIN] credit_score_psi_retrain: loan-default v3 (credit_score): psi = 0.31 > 0.25",
    );
    const blocks = slack.body.blocks as Record<string, unknown>[];
    expect(blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "[keel RETRAIN] credit_score_psi_retrain" },
    });
    expect(blocks[1]).toEqual({
      type: "section",
      text: { type: "mrkdwn", text: "loan-default v3 (credit_score): psi = 0.31 &gt; 0.25" },
    });
    expect((blocks[2]!.fields as { text: string }[]).map((f) => f.text)).toEqual([
      "*Model*\nloan-default v3",
      "*Feature*\ncredit_score",
      "*Tier*\nretrain",
      "*Value*\n0.31",
      "*Threshold*\n0.25",
      "*Window*\n2024-06-01T00:00:00.000Z – 2024-06-02T00:00:00.000Z",
      "*Status*\nopen",
    ]);
    expect(blocks[3]!.type).toBe("context");

    // PagerDuty Events API v2: only the retrain tier reaches it
    const pd = take("/pagerduty");
    expect(pd.length).toBe(1);
    expect(pd[0]!.body).toEqual({
      routing_key: "R0UT1NGKEY",
      event_action: "trigger",
      dedup_key: `keel/${retrainAlert.id}/credit_score_psi_retrain|loan-default|3||credit_score|`,
      payload: {
        summary: "loan-default v3 (credit_score): psi = 0.31 > 0.25",
        source: "keel.test",
        severity: "error",
        timestamp: new Date(now).toISOString(),
        component: "loan-default@3",
        group: "loan-default",
        class: "credit_score_psi_retrain",
        custom_details: {
          tier: "retrain",
          rule_id: "credit_score_psi_retrain",
          model_name: "loan-default",
          model_version: "3",
          feature: "credit_score",
          segment: null,
          value: 0.31,
          threshold: 0.25,
          window_start: "2024-06-01T00:00:00.000Z",
          window_end: "2024-06-02T00:00:00.000Z",
          alert_id: retrainAlert.id,
          rule: "PSI on credit_score above 0.25",
          observed: 0.31,
        },
      },
      client: "keel",
    });
    expect(logged.filter((l) => String(l.msg).startsWith("alert fired")).length).toBe(2);
    expect(r.deliveries.every((d) => d.ok)).toBe(true);
  });

  it("does not fire again while open, resolves when PSI falls back, then waits out the cooldown", async () => {
    now += 10 * 60_000;
    const again = await engine.evaluate("loan-default");
    expect(again.fired).toEqual([]);
    expect(again.stillOpen).toBe(2);
    expect(take("/hook")).toEqual([]);

    now += 10 * 60_000;
    await open.stores.observations.append([psi(1, 0.02)]);
    const cleared = await engine.evaluate("loan-default");
    expect(cleared.resolved.map((a) => a.status)).toEqual(["resolved", "resolved"]);
    const pd = take("/pagerduty");
    expect(pd.map((p) => p.body)).toEqual([
      {
        routing_key: "R0UT1NGKEY",
        event_action: "resolve",
        dedup_key: `keel/${cleared.resolved.find((a) => a.tier === "retrain")!.id}/credit_score_psi_retrain|loan-default|3||credit_score|`,
      },
    ]);
    expect(take("/hook").map((h) => h.body.event)).toEqual(["alert.resolved", "alert.resolved"]);
    take("/slack");

    // drift again 20 minutes after firing: the 60-minute cooldown holds it back
    now += 10 * 60_000;
    await open.stores.observations.append([psi(2, 0.4)]);
    const held = await engine.evaluate("loan-default");
    expect(held.fired).toEqual([]);
    expect(held.cooling.map((f) => f.ruleId).sort()).toEqual(["credit_score_psi_notify", "credit_score_psi_retrain"]);
    now += 31 * 60_000;
    const refired = await engine.evaluate("loan-default");
    expect(refired.fired.length).toBe(2);
    take("/hook");
    take("/slack");
    take("/pagerduty");
  });

  it("acknowledges: PagerDuty gets acknowledge under the same dedup key; listeners hear it", async () => {
    const openAlert = (
      await createAlertStore(open.stores.metadata, { clock }).list({ tier: "retrain", unresolved: true })
    )[0]!;
    const acked = await engine.acknowledge(openAlert.id, { userId: "ana" });
    expect(acked.status).toBe("acknowledged");
    expect(take("/pagerduty").map((p) => p.body)).toEqual([
      {
        routing_key: "R0UT1NGKEY",
        event_action: "acknowledge",
        dedup_key: `keel/${openAlert.id}/${openAlert.dedupKey}`,
      },
    ]);
    expect(events.at(-1)).toMatchObject({ action: "acknowledged", alert: { id: openAlert.id, acknowledgedBy: "ana" } });
    take("/hook");
    take("/slack");
  });
});

describe("delivery", () => {
  const event: AlertEvent = {
    action: "fired",
    alert: {
      id: "abc",
      ruleId: "r",
      tier: "page",
      dedupKey: "r|m",
      modelName: "m",
      status: "open",
      summary: "s",
      value: 1,
      threshold: 0,
      windowStart: T0,
      windowEnd: T0 + HOUR,
      firedAt: T0,
      lastSeenAt: T0,
    },
  };
  const deps = { fetch: globalThis.fetch, logger: silentLogger, retryDelayMs: 5 };

  it("retries a 503 and succeeds; gives up after the retries", async () => {
    failures.set("/flaky", 2);
    const ok = await deliverAlert({ type: "webhook", url: `${base}/flaky`, retries: 2 }, event, deps);
    expect(ok).toMatchObject({ ok: true, attempts: 3, status: 200 });
    expect(take("/flaky").length).toBe(1);
    failures.set("/down", 5);
    const down = await deliverAlert({ type: "webhook", url: `${base}/down`, retries: 1 }, event, deps);
    expect(down).toMatchObject({ ok: false, attempts: 2, status: 503, error: "HTTP 503" });
    failures.delete("/down");
  });

  it("times out a slow receiver", async () => {
    const started = Date.now();
    const r = await deliverAlert({ type: "slack", url: `${base}/slow`, timeoutMs: 100, retries: 0 }, event, deps);
    expect(r.ok).toBe(false);
    expect(r.attempts).toBe(1);
    expect(r.error).toMatch(/timeout|aborted/i);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("validates sink configs, naming the sink and field", () => {
    const field = (json: unknown) => {
      try {
        parseSinks(json);
      } catch (e) {
        return (e as { details?: { field?: string } }).details?.field;
      }
      return undefined;
    };
    expect(field([{ type: "email" }])).toBe("sinks[0].type");
    expect(field([{ type: "log" }, { type: "webhook", url: "ftp://x" }])).toBe("sinks[1].url");
    expect(field([{ type: "pagerduty" }])).toBe("sinks[0].routingKey");
    expect(field([{ type: "log", tiers: ["loud"] }])).toBe("sinks[0].tiers");
    expect(field([{ type: "slack", url: "http://x", timeoutMs: 0 }])).toBe("sinks[0].timeoutMs");
  });
});
