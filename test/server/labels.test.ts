import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LabelItemJson } from "../../src/client/index.js";
import { KeelError } from "../../src/errors.js";
import { DECISION_THRESHOLD_TAG } from "../../src/registry/index.js";
import { DAY, T0, direct, labelsFor, loanLog, regionOf, type LoggedLoan } from "../monitoring/loan-log.js";
import { http, startTestServer, type TestServer } from "./helpers.js";

const AS_OF = T0 + 40 * DAY;

describe("labels and performance over HTTP (real server, port 0)", () => {
  let server: TestServer;
  let log: LoggedLoan[];

  beforeAll(async () => {
    server = await startTestServer();
    log = loanLog({ seed: 21, days: 40, perDay: 30 });
    await server.stores.inferenceLog.append(
      log.map((l) => l.record),
      { durability: "sync" },
    );
  }, 60_000);
  afterAll(async () => server.close());

  it("ingests labels by request id and by entity + ISO time, then answers rolling metrics equal to a direct computation", async () => {
    const items: LabelItemJson[] = labelsFor(log, "api").map((l) =>
      l.requestId !== undefined
        ? { request_id: l.requestId, label: l.label }
        : // half as ISO-8601 text, half as epoch ms; labels as booleans and numbers
          {
            entity_id: l.entityId,
            time: l.time % 2 === 0 ? new Date(l.time).toISOString() : l.time,
            label: l.label === 1,
          },
    );
    items.push({ request_id: "not-logged", label: 0 });
    const ingested = await server.client.ingestLabels(items, { source: "june-outcomes" });
    expect(ingested).toEqual({
      received: items.length,
      inserted: items.length,
      updated: 0,
      unchanged: 0,
      matched: items.length - 1,
      unmatched: 1,
    });

    const report = await server.client.getPerformance({
      model: "loans",
      window: "30d",
      segment: "region",
      as_of: AS_OF,
    });
    const rows = log.filter((l) => l.record.time >= AS_OF - 30 * DAY && l.record.time < AS_OF);
    const want = direct(rows);
    expect(report).toMatchObject({
      model: "loans",
      window: "30d",
      window_start: AS_OF - 30 * DAY,
      window_end: AS_OF,
      threshold: 0.5,
    });
    expect(report.overall.predictions).toBe(want.predictions);
    expect(report.overall.labelled).toBe(want.labelled);
    expect(report.overall.auc).toBeCloseTo(want.auc!, 12);
    expect(report.overall.fnr).toBeCloseTo(want.fnr!, 12);
    expect(report.overall.ece).toBeCloseTo(want.ece, 12);
    expect(report.overall.reliability).toHaveLength(10);
    const east = report.segments.find((g) => g.segment === "region=east");
    expect(east?.recall).toBeCloseTo(direct(rows.filter((r) => regionOf(r) === "east")).recall!, 12);
    const regions = [...new Set(rows.map(regionOf))];
    const rates = regions.map((r) => direct(rows.filter((x) => regionOf(x) === r)).decisionRate);
    expect(report.fairness?.demographic_parity_gap).toBeCloseTo(Math.max(...rates) - Math.min(...rates), 12);

    // a correction: one label flipped is an update, the rest unchanged
    const first = items[0] as { request_id: string; label: number };
    const again = await server.client.ingestLabels([{ request_id: first.request_id, label: 1 - first.label }]);
    expect(again).toMatchObject({ inserted: 0, updated: 1, matched: 1 });
    // the default window is 7 days
    const week = await server.client.getPerformance({ model: "loans", as_of: AS_OF });
    expect(week.window).toBe("7d");
    expect(week.segments).toEqual([]);
    expect(week.fairness).toBeNull();
  });

  it("decides at the champion's stored threshold unless the query gives one", async () => {
    const mv = await server.stores.registry.createModelVersion({
      name: "loans",
      source: "m/1",
      tags: [{ key: DECISION_THRESHOLD_TAG, value: "0.3" }],
    });
    await server.stores.registry.setAlias("loans", "champion", mv.version);
    const stored = await server.client.getPerformance({ model: "loans", window: "30d", as_of: AS_OF });
    const explicit = await server.client.getPerformance({
      model: "loans",
      window: "30d",
      as_of: AS_OF,
      threshold: 0.3,
    });
    expect(stored.threshold).toBe(0.3);
    expect(stored).toEqual(explicit);
    const overridden = await server.client.getPerformance({
      model: "loans",
      window: "30d",
      as_of: AS_OF,
      threshold: 0.5,
    });
    expect(overridden.threshold).toBe(0.5);
    expect(overridden.overall.fnr).not.toBe(stored.overall.fnr);
  });

  it("refuses bad labels and queries with 400 naming the field, value and rule", async () => {
    const url = `${server.url}/api/keel/labels`;
    const bad = await http(
      url,
      "POST",
      JSON.stringify({
        labels: [
          { request_id: "r", label: 1 },
          { request_id: "s", label: 2 },
        ],
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({
      error_code: "INVALID_PARAMETER_VALUE",
      details: { field: "labels[1].label", value: 2 },
    });
    const noTime = await http(url, "POST", JSON.stringify({ labels: [{ entity_id: "app-1", label: 0 }] }));
    expect(noTime.status).toBe(400);
    expect(noTime.json.details).toMatchObject({ field: "labels[0].time", rule: "is required with entity_id" });
    const badTime = await http(
      url,
      "POST",
      JSON.stringify({ labels: [{ entity_id: "app-1", time: "yesterday", label: 0 }] }),
    );
    expect(badTime.json.details).toMatchObject({ field: "labels[0].time", value: "yesterday" });
    const noKey = await http(url, "POST", JSON.stringify({ labels: [{ label: 0 }] }));
    expect(noKey.json.details).toMatchObject({
      field: "labels[0].request_id",
      rule: "is required (or entity_id and time)",
    });
    const notArray = await http(url, "POST", JSON.stringify({ labels: "r1,1" }));
    expect([notArray.status, (notArray.json.details as { field: string }).field]).toEqual([400, "labels"]);
    // with `positive`, text labels map to 1 / 0
    const text = await http(
      url,
      "POST",
      JSON.stringify({ positive: "default", labels: [{ request_id: "x", label: "repaid" }] }),
    );
    expect(text.status).toBe(200);
    expect(text.json).toMatchObject({ received: 1, unmatched: 1 });

    const perf = `${server.url}/api/keel/monitoring/performance`;
    const badWindow = await http(`${perf}?model=loans&window=week`, "GET");
    expect(badWindow.status).toBe(400);
    expect(badWindow.json.details).toMatchObject({ field: "window", value: "week" });
    const noModel = await http(`${perf}?window=7d`, "GET");
    expect(noModel.status).toBe(400);
    expect(noModel.json.message).toContain("model");
    await expect(server.client.getPerformance({ model: "loans", threshold: Number.NaN })).rejects.toBeInstanceOf(
      KeelError,
    );
    // a model with no logged predictions: counts are zero and metrics null, not an error
    const none = await server.client.getPerformance({ model: "nobody", as_of: AS_OF });
    expect(none.overall).toMatchObject({ predictions: 0, labelled: 0, auc: null, decision_rate: null });
  });
});
