import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import type { AlertJson, MonitorRunJson, ObservationJson } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import type { Frame } from "../../src/data/index.js";
import { KeelError } from "../../src/errors.js";
import { attachReferenceProfile, buildTrainingProfile, computeDrift } from "../../src/monitoring/index.js";
import { startMonitoring } from "../../src/server/monitoring-wiring.js";
import type { RunningMonitoring } from "../../src/server/monitoring-wiring.js";
import { startServer } from "../../src/server/start.js";
import type { RunningServer } from "../../src/server/start.js";
import type { InferenceRecord } from "../../src/store/inference-log.js";
import {
  DRIFT_CSV,
  FEATURES,
  REF_CSV,
  countByScan,
  frameScores,
  loadFrame,
  recordsOf,
} from "../monitoring/fixtures.js";
import { postgresStores, sqliteStores } from "../store/backends.js";
import type { MakeStores, TestStores } from "../store/backends.js";
import { http } from "./helpers.js";

const DAY = 86_400_000;
const MINUTE = 60_000;
/** Day 0: the reference population again; day 1: six months of drift; day 2: the reference population. */
const T0 = Date.UTC(2024, 5, 3);
const MODEL = "loan-default";
/** recordsOf puts 5,000 rows one every 17,280 ms: exactly one day. */
const STEP = DAY / 5000;
const iso = (ms: number) => new Date(ms).toISOString();
/** The fixtures' numeric model inputs (the others are text). */
const NUMERIC_FEATURES = [
  "credit_score",
  "annual_income",
  "debt_to_income_ratio",
  "loan_amount",
  "num_delinquencies_12m",
  "employment_years",
  "loan_term",
];

/** One column of a fixture CSV, read as text (no DuckDB, no keel code): the fixtures have no quoted cells. */
function csvColumn(file: string, name: string): Float64Array {
  const lines = readFileSync(file, "utf8").trim().split("\n");
  const j = (lines[0] ?? "").split(",").indexOf(name);
  if (j < 0) throw new Error(`${file} has no column ${name}`);
  return Float64Array.from(lines.slice(1), (l) => Number(l.split(",")[j]));
}

/**
 * PSI written out from its definition, independently of src/stats: bins at the reference deciles
 * (numpy's "linear" quantiles), duplicates dropped, outer bins open; proportions floored at 1e-4.
 */
function psiByDefinition(reference: Float64Array, current: Float64Array): number {
  const sorted = Float64Array.from(reference).sort();
  const n = sorted.length;
  const quantile = (p: number) => {
    const h = (n - 1) * p;
    const lo = Math.floor(h);
    const a = sorted[lo]!;
    const b = sorted[Math.min(lo + 1, n - 1)]!;
    return a + (h - lo) * (b - a);
  };
  const cuts = [...new Set(Array.from({ length: 11 }, (_, i) => quantile(i / 10)))];
  const inner = cuts.slice(1, -1);
  const shares = (xs: Float64Array) => {
    const counts = new Array<number>(inner.length + 1).fill(0);
    for (const x of xs) {
      let bin = 0;
      while (bin < inner.length && x >= inner[bin]!) bin++;
      counts[bin]! += 1;
    }
    return counts.map((c) => Math.max(c / xs.length, 1e-4));
  };
  const p = shares(reference);
  const q = shares(current);
  return p.reduce((sum, pr, i) => sum + (q[i]! - pr) * Math.log(q[i]! / pr), 0);
}

function obs(list: readonly ObservationJson[], kind: string, metric: string, feature: string | null): ObservationJson {
  const o = list.find((x) => x.kind === kind && x.metric === metric && x.feature === feature);
  if (o === undefined) throw new Error(`no observation ${kind}/${metric}/${feature ?? "-"}`);
  return o;
}

/** Rows of `f` whose score makes a `reject` decision under recordsOf's threshold (0.35), as a share. */
function rejectRate(f: Frame): number {
  const scores = frameScores(f);
  return scores.filter((s) => s >= 0.35).length / scores.length;
}

let ref: Frame;
let drifted: Frame;
let creditPsi: number;

beforeAll(async () => {
  [ref, drifted] = await Promise.all([loadFrame(REF_CSV), loadFrame(DRIFT_CSV)]);
  creditPsi = psiByDefinition(csvColumn(REF_CSV, "credit_score"), csvColumn(DRIFT_CSV, "credit_score"));
});

interface Harness {
  readonly open: TestStores;
  readonly monitoring: RunningMonitoring;
  readonly server: RunningServer;
  /** Writer token named `oncall-ana`: acknowledgements are recorded under that name. */
  readonly client: KeelClient;
  readonly token: string;
  readonly dataDir: string;
}

/**
 * The real server on a free port with monitoring wired as `keel server` wires it (startMonitoring,
 * its services on the app), auth on, and the monitoring clock held by the test so alert times and
 * the rules' 48-hour window are deterministic.
 */
async function startHarness(make: MakeStores, clock: () => number): Promise<Harness> {
  const open = await make({ clock });
  const dataDir = mkdtempSync(path.join(tmpdir(), "keel-monitoring-server-"));
  const config = loadConfig({
    flags: { dataDir, port: 0, host: "127.0.0.1", authEnabled: true, logLevel: "silent", backendStoreUri: open.uri },
    env: {},
  });
  const monitoring = startMonitoring(open.stores, { clock });
  const server = await startServer({ config, stores: open.stores, monitoring: monitoring.services, clock });
  const { token } = await open.stores.tokens.create({ name: "oncall-ana", role: "writer" });
  return { open, monitoring, server, client: new KeelClient({ baseUrl: server.url, token }), token, dataDir };
}

const BACKENDS: readonly [string, MakeStores][] = [
  ["SQLite", sqliteStores],
  ["PostgreSQL", postgresStores],
];

describe.each(BACKENDS)("monitoring and alerts over HTTP (%s)", (_name, make) => {
  let h: Harness;
  let now = T0 + 2 * DAY + 10 * MINUTE;
  let retrainAlert: AlertJson;
  let driftRun: MonitorRunJson;
  const authed = (method: string, url: string, body?: string) =>
    http(`${h.server.url}${url}`, method, body, { authorization: `Bearer ${h.token}` });

  beforeAll(async () => {
    h = await startHarness(make, () => now);
    // registered over the MLflow API; the reference profile is saved with the version as registration does
    await h.client.createRegisteredModel(MODEL);
    const mv = await h.client.createModelVersion({ name: MODEL, source: "models/loan-default/1" });
    expect(mv.version).toBe("1");
    const profile = buildTrainingProfile(ref, { features: FEATURES, scores: frameScores(ref) });
    await attachReferenceProfile(h.open.stores, { name: MODEL, version: "1", profile });
    await h.open.stores.inferenceLog.append(
      [
        ...recordsOf(ref, { start: T0, stepMs: STEP, version: "1", prefix: "d0" }),
        ...recordsOf(drifted, { start: T0 + DAY, stepMs: STEP, version: "1", prefix: "d1" }),
      ],
      { durability: "sync" },
    );
  }, 60_000);

  afterAll(async () => {
    await h.server.close();
    await h.monitoring.stop();
    await h.open.close();
    rmSync(h.dataDir, { recursive: true, force: true });
  });

  it("finds nothing on the reference population's day and fires no alert", async () => {
    const r = await h.client.runMonitorWindow({ model: MODEL, from: T0, to: T0 + DAY });
    expect(r).toMatchObject({ model: MODEL, window_start: iso(T0), window_end: iso(T0 + DAY), rows: 5000 });
    expect(r.previous_rows).toBe(0);
    expect(r.versions.map((v) => [v.version, v.rows])).toEqual([["1", 5000]]);
    for (const f of FEATURES) {
      expect(obs(r.observations, "drift", "drift", f).value, f).toBe(0);
      expect(obs(r.observations, "drift", "psi", f).value, f).toBe(0);
    }
    expect(r.alerts_fired).toEqual([]);
    expect(await h.client.listAlerts({ model: MODEL })).toEqual([]);
  });

  it("flags the drifted day on credit_score, debt_to_income_ratio, num_delinquencies_12m, not annual_income or region", async () => {
    // ISO-8601 bounds this time (the route takes either form)
    driftRun = await h.client.runMonitorWindow({ model: MODEL, from: iso(T0 + DAY), to: iso(T0 + 2 * DAY) });
    const r = driftRun;
    expect(r.rows).toBe(5000);
    expect(r.previous_rows).toBe(5000);
    for (const f of ["credit_score", "debt_to_income_ratio", "num_delinquencies_12m"]) {
      const d = obs(r.observations, "drift", "drift", f);
      expect(d.value, f).toBe(1);
      expect(d.severity, f).not.toBe("stable");
      expect(d.model_version, f).toBe("1");
    }
    for (const f of ["annual_income", "region"]) {
      expect(obs(r.observations, "drift", "drift", f).value, f).toBe(0);
      expect(obs(r.observations, "drift", "drift", f).severity, f).toBe("stable");
      expect(obs(r.observations, "drift", "psi", f).severity, f).toBe("stable");
    }

    // PSI of credit_score: the definition computed here from the CSV text, the library's computeDrift
    // on the raw frames, and the value docs/drift.md prints for these files all agree with the job's.
    const psi = obs(r.observations, "drift", "psi", "credit_score");
    const direct = computeDrift(ref, drifted, { method: "ks", columns: FEATURES });
    const directCs = direct.columns.find((c) => c.name === "credit_score")!;
    expect(psi.value).toBeCloseTo(creditPsi, 12);
    expect(psi.value).toBeCloseTo(directCs.psi!, 12);
    expect(psi.value).toBeCloseTo(0.2594, 4);
    expect(psi.severity).toBe("major");
    expect(psi.detail).toEqual({ n_reference: 5000, n_current: 5000 });
    expect(r.versions[0]?.drift.find((c) => c.name === "credit_score")?.psi).toBe(psi.value);
    // KS statistic as the drift tests pin it to scipy's ks_2samp on these files
    expect(obs(r.observations, "drift", "ks_statistic", "credit_score").value).toBeCloseTo(0.2056, 4);
  });

  it("fires the seed's rules: PSI on credit_score > 0.25 opens a retrain-tier alert, listed by GET /api/keel/alerts", async () => {
    const fired = driftRun.alerts_fired;
    // which of the default rules must fire, from numbers computed outside the alert engine
    const direct = computeDrift(ref, drifted, { method: "ks", columns: FEATURES });
    const ksBelow = direct.columns.filter((c) => c.method === "ks" && c.p_value !== null && c.p_value < 0.01).length;
    const rejectChange = Math.abs(rejectRate(drifted) / rejectRate(ref) - 1);
    // Features whose drifted values lie outside the reference's [min, max] more than 1 time in 1,000.
    const outOfRange = NUMERIC_FEATURES.filter((f) => {
      const r = csvColumn(REF_CSV, f).filter((v) => !Number.isNaN(v));
      const d = csvColumn(DRIFT_CSV, f).filter((v) => !Number.isNaN(v));
      const lo = Math.min(...r);
      const hi = Math.max(...r);
      return d.filter((v) => v < lo || v > hi).length / d.length > 0.001;
    });
    expect(outOfRange).toEqual(["credit_score"]);
    const expected = [
      ...(creditPsi > 0.1 ? ["credit_score_psi_notify"] : []),
      ...(creditPsi > 0.25 ? ["credit_score_psi_retrain"] : []),
      ...(ksBelow >= 3 ? ["ks_p_value_page"] : []),
      ...(rejectChange > 0.15 ? ["reject_rate_business"] : []),
      ...outOfRange.map(() => "out_of_range_notify"),
    ];
    expect(expected).toContain("credit_score_psi_retrain");
    expect(fired.map((a) => a.rule_id).sort()).toEqual(expected.sort());

    const retrain = fired.find((a) => a.rule_id === "credit_score_psi_retrain")!;
    expect(retrain).toMatchObject({
      tier: "retrain",
      status: "open",
      model_name: MODEL,
      model_version: "1",
      feature: "credit_score",
      threshold: 0.25,
      window_start: iso(T0 + DAY),
      window_end: iso(T0 + 2 * DAY),
      fired_at: iso(now),
      acknowledged_by: null,
      resolved_at: null,
    });
    expect(retrain.value).toBeCloseTo(creditPsi, 12);
    expect(retrain.summary).toBe(`${MODEL} v1 (credit_score): psi = ${Number(creditPsi.toPrecision(4))} > 0.25`);
    retrainAlert = retrain;

    const listed = await h.client.listAlerts({ model: MODEL, tier: "retrain" });
    expect(listed).toEqual([retrain]);
    expect((await h.client.listAlerts({ status: "open" })).map((a) => a.id).sort()).toEqual(
      fired.map((a) => a.id).sort(),
    );
  });

  it("deduplicates: the same window again opens no second alert and moves last_seen_at", async () => {
    now += 5 * MINUTE;
    const again = await h.client.runMonitorWindow({ model: MODEL, from: T0 + DAY, to: T0 + 2 * DAY });
    expect(again.alerts_fired).toEqual([]);
    const listed = await h.client.listAlerts({ model: MODEL, tier: "retrain" });
    expect(listed.map((a) => a.id)).toEqual([retrainAlert.id]);
    expect(listed[0]?.fired_at).toBe(retrainAlert.fired_at);
    expect(listed[0]?.last_seen_at).toBe(iso(now));
  });

  it("acknowledges an alert: status changes, the token's name is recorded, in the alert and the audit log", async () => {
    now += MINUTE;
    const ackAt = now;
    const acked = await h.client.acknowledgeAlert(retrainAlert.id);
    expect(acked).toMatchObject({
      id: retrainAlert.id,
      status: "acknowledged",
      acknowledged_by: "oncall-ana",
      acknowledged_at: iso(ackAt),
    });
    expect((await h.client.listAlerts({ status: "acknowledged" })).map((a) => a.id)).toEqual([retrainAlert.id]);
    expect((await h.client.listAlerts({ status: "open" })).map((a) => a.id)).not.toContain(retrainAlert.id);
    const audit = (await h.open.stores.audit.list({ targetType: "alert", targetId: retrainAlert.id })).map((a) => [
      a.action,
      a.actor,
    ]);
    expect(audit).toEqual([
      ["alert.fire", "keel-monitoring"],
      ["alert.acknowledge", "oncall-ana"],
    ]);
    // acknowledging again keeps the first acknowledgement
    now += MINUTE;
    expect((await h.client.acknowledgeAlert(retrainAlert.id)).acknowledged_at).toBe(iso(ackAt));
  });

  it("filters observations by kind, feature, metric, version, from / to and limit", async () => {
    const all = await h.client.getObservations({ model: MODEL });
    const cs = await h.client.getObservations({ model: MODEL, kind: "drift", feature: "credit_score" });
    expect(cs.every((o) => o.kind === "drift" && o.feature === "credit_score")).toBe(true);
    expect(cs).toEqual(all.filter((o) => o.kind === "drift" && o.feature === "credit_score"));
    // two windows × psi, KS statistic, KS p-value, verdict; oldest window first
    expect(cs.map((o) => [o.window_start, o.metric])).toEqual(
      [T0, T0 + DAY].flatMap((t) => ["drift", "ks_p_value", "ks_statistic", "psi"].map((m) => [iso(t), m])),
    );
    const day1 = await h.client.getObservations({
      model: MODEL,
      kind: "drift",
      feature: "credit_score",
      from: iso(T0 + DAY),
      to: T0 + DAY + 1,
    });
    expect(day1).toEqual(cs.slice(4));
    const day0 = await h.client.getObservations({ model: MODEL, kind: "drift", feature: "credit_score", to: T0 + DAY });
    expect(day0).toEqual(cs.slice(0, 4));
    expect(await h.client.getObservations({ model: MODEL, kind: "drift", feature: "credit_score", limit: 3 })).toEqual(
      cs.slice(0, 3),
    );
    const volume = await h.client.getObservations({ model: MODEL, kind: "volume", metric: "request_count" });
    expect(volume.map((o) => [o.window_start, o.value])).toEqual([
      [iso(T0), 5000],
      [iso(T0 + DAY), 5000],
    ]);
    expect(volume.every((o) => o.model_version === null)).toBe(true);
    const v1 = await h.client.getObservations({ model: MODEL, version: "1", kind: "quality", metric: "null_rate" });
    expect(v1.length).toBe(2 * FEATURES.length);
    expect(v1.every((o) => o.model_version === "1" && o.metric === "null_rate")).toBe(true);
    expect(await h.client.getObservations({ model: MODEL, from: T0 + 5 * DAY })).toEqual([]);
    expect(await h.client.getObservations({ model: "nobody" })).toEqual([]);
  });

  it("summarises the latest window per feature", async () => {
    const s = await h.client.getMonitoringSummary(MODEL);
    expect(s).toMatchObject({ model: MODEL, window_start: iso(T0 + DAY), window_end: iso(T0 + 2 * DAY) });
    const cs = s.features.find((f) => f.feature === "credit_score");
    const psi = obs(driftRun.observations, "drift", "psi", "credit_score").value;
    expect(cs).toMatchObject({ model_version: "1", psi, psi_severity: "major", drift: 1 });
    expect(s.features.find((f) => f.feature === "region")).toMatchObject({ drift: 0, drift_severity: "stable" });
    expect(s.features.map((f) => f.feature).sort()).toEqual([...FEATURES].sort());
    expect(s.model_level.find((m) => m.kind === "volume" && m.metric === "request_count")?.value).toBe(5000);
    expect(s.model_level.find((m) => m.kind === "prediction_drift" && m.metric === "drift")?.value).toBe(1);
    expect(await h.client.getMonitoringSummary("nobody")).toEqual({
      model: "nobody",
      window_start: null,
      window_end: null,
      features: [],
      model_level: [],
    });
  });

  it("resolves the alert when a later window is back to the reference, and ignores canary-rollback log records", async () => {
    // serving writes a `canary_rollback` record (empty features) into the log when it rolls a canary back
    const rollback: InferenceRecord = {
      requestId: `canary-rollback:loans:1:${T0 + 2 * DAY + 1000}`,
      time: T0 + 2 * DAY + 1000,
      endpoint: "loans",
      modelName: MODEL,
      modelVersion: "1",
      route: "canary_rollback",
      features: {},
      outputs: { trigger: "alert", reason: "retrain alert" },
      latencyMs: 0,
    };
    await h.open.stores.inferenceLog.append(
      [...recordsOf(ref, { start: T0 + 2 * DAY, stepMs: STEP, version: "1", prefix: "d2" }), rollback],
      { durability: "sync" },
    );
    now = T0 + 3 * DAY + 10 * MINUTE;
    const r = await h.client.runMonitorWindow({ model: MODEL, from: T0 + 2 * DAY, to: T0 + 3 * DAY });
    expect(r.rows).toBe(5000);
    expect(obs(r.observations, "quality", "null_rate", "credit_score")).toMatchObject({ value: 0, severity: "ok" });
    expect(obs(r.observations, "drift", "psi", "credit_score").value).toBe(0);
    const resolved = r.alerts_resolved.find((a) => a.id === retrainAlert.id);
    expect(resolved).toMatchObject({ status: "resolved", resolved_at: iso(now), acknowledged_by: "oncall-ana" });
    expect((await h.client.listAlerts({ model: MODEL, status: "resolved" })).map((a) => a.id)).toContain(
      retrainAlert.id,
    );
    expect((await h.client.getMonitoringSummary(MODEL)).window_start).toBe(iso(T0 + 2 * DAY));
    // a resolved alert cannot be acknowledged: 400 INVALID_STATE naming the id
    const e = await h.client.acknowledgeAlert(retrainAlert.id).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KeelError);
    expect(e).toMatchObject({ code: "INVALID_STATE", status: 400, details: { field: "id", value: retrainAlert.id } });
  });

  it("serves the score's counts per window over two days, each recounted from the logged scores", async () => {
    const h2 = await h.client.getScoreHistograms({
      model: MODEL,
      version: "1",
      from: iso(T0),
      to: iso(T0 + 2 * DAY),
      window_ms: DAY / 2,
    });
    const edges = [
      ...buildTrainingProfile(ref, { features: FEATURES, scores: frameScores(ref) }).prediction!.histEdges,
    ];
    expect(h2.reference).toEqual(countByScan(frameScores(ref), edges));
    const days = [frameScores(ref), frameScores(drifted)];
    expect(h2.windows.map((w) => [w.window_start, w.rows, w.missing])).toEqual(
      [0, 1, 2, 3].map((i) => [iso(T0 + (i * DAY) / 2), 2500, 0]),
    );
    h2.windows.forEach((w, i) => {
      const half = days[i >> 1]!.subarray((i % 2) * 2500, (i % 2) * 2500 + 2500);
      expect(w.current, `window ${i}`).toEqual(countByScan(half, edges));
    });
  });

  it("answers bad input with a 4xx JSON error naming the field, never a 5xx", async () => {
    const day = { from: T0 + DAY, to: T0 + 2 * DAY };
    const cases: [string, string, string | undefined, number, string][] = [
      ["POST", "/api/keel/monitoring/run", JSON.stringify(day), 400, "model"],
      ["POST", "/api/keel/monitoring/run", JSON.stringify({ model: MODEL, to: day.to }), 400, "from"],
      ["POST", "/api/keel/monitoring/run", JSON.stringify({ model: MODEL, from: day.from }), 400, "to"],
      [
        "POST",
        "/api/keel/monitoring/run",
        JSON.stringify({ model: MODEL, from: "yesterday", to: day.to }),
        400,
        "from",
      ],
      ["POST", "/api/keel/monitoring/run", JSON.stringify({ model: MODEL, from: day.to, to: day.to }), 400, "to"],
      ["POST", "/api/keel/monitoring/run", JSON.stringify({ model: MODEL, from: day.to, to: day.from }), 400, "to"],
      // past the largest time a JavaScript Date holds (8.64e15 ms): a number, but not a time
      [
        "POST",
        "/api/keel/monitoring/run",
        JSON.stringify({ model: MODEL, from: 8_640_000_000_000_001, to: 8_640_000_000_000_002 }),
        400,
        "from",
      ],
      ["POST", "/api/keel/monitoring/run", JSON.stringify([MODEL]), 400, "request body"],
      ["GET", "/api/keel/monitoring/observations?kind=drift", undefined, 400, "model"],
      ["GET", `/api/keel/monitoring/observations?model=${MODEL}&kind=drfit`, undefined, 400, "kind"],
      ["GET", `/api/keel/monitoring/observations?model=${MODEL}&from=noon`, undefined, 400, "from"],
      ["GET", `/api/keel/monitoring/observations?model=${MODEL}&from=${day.to}&to=${day.from}`, undefined, 400, "to"],
      ["GET", `/api/keel/monitoring/observations?model=${MODEL}&limit=0`, undefined, 400, "limit"],
      ["GET", `/api/keel/monitoring/observations?model=${MODEL}&feature=`, undefined, 400, "feature"],
      ["GET", "/api/keel/monitoring/summary", undefined, 400, "model"],
      [
        "GET",
        `/api/keel/monitoring/score-histograms?model=${MODEL}&from=${day.from}&to=${day.to}`,
        undefined,
        400,
        "window_ms",
      ],
      [
        "GET",
        `/api/keel/monitoring/score-histograms?model=${MODEL}&from=${day.from}&to=${day.to}&window_ms=7000000`,
        undefined,
        400,
        "window_ms",
      ],
      [
        "GET",
        `/api/keel/monitoring/score-histograms?model=${MODEL}&to=${day.to}&window_ms=${DAY}`,
        undefined,
        400,
        "from",
      ],
      ["GET", "/api/keel/alerts?status=firing", undefined, 400, "status"],
      ["GET", "/api/keel/alerts?tier=urgent", undefined, 400, "tier"],
      ["GET", "/api/keel/alerts?limit=100000", undefined, 400, "limit"],
      ["POST", "/api/keel/alerts/0000000000000000/ack", "{}", 404, "id"],
    ];
    for (const [method, url, body, status, field] of cases) {
      const res = await authed(method, url, body);
      const what = `${method} ${url} ${body ?? ""}`;
      expect(res.status, what).toBe(status);
      expect(typeof res.json.error_code, what).toBe("string");
      expect(typeof res.json.message === "string" && res.json.message !== "", what).toBe(true);
      expect((res.json.details as { field?: unknown } | undefined)?.field, what).toBe(field);
    }
    // a version that does not exist: 404, the message naming it
    const noVersion = await authed(
      "POST",
      "/api/keel/monitoring/run",
      JSON.stringify({ model: MODEL, ...day, version: "7" }),
    );
    expect(noVersion.status).toBe(404);
    expect(noVersion.json).toMatchObject({ error_code: "RESOURCE_DOES_NOT_EXIST" });
    expect(noVersion.json.message).toContain("version=7");
    // nothing half-written by the refused runs: the time series still reads back whole
    const after = await h.client.getObservations({ model: MODEL });
    expect(after.every((o) => Date.parse(o.window_start) < T0 + 3 * DAY)).toBe(true);
    // the typed client surfaces the same errors as KeelError
    const e = await h.client.runMonitorWindow({ model: MODEL, from: T0, to: T0 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "INVALID_PARAMETER_VALUE", status: 400, details: { field: "to" } });
    // a reader may read the series but not run a window
    const { token } = await h.open.stores.tokens.create({ name: "dashboard", role: "reader" });
    const reader = new KeelClient({ baseUrl: h.server.url, token });
    expect((await reader.getObservations({ model: MODEL, limit: 1 })).length).toBe(1);
    const denied = await reader.runMonitorWindow({ model: MODEL, ...day }).catch((x: unknown) => x);
    expect(denied).toMatchObject({ code: "PERMISSION_DENIED", status: 403 });
  });
});
