import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/index.js";
import type { KeelError } from "../../src/errors.js";
import {
  attachReferenceProfile,
  buildTrainingProfile,
  computeDrift,
  evaluateAlertRules,
  loadReferenceProfile,
  readWindow,
  runMonitorWindow,
  REFERENCE_PROFILE_TAG,
} from "../../src/monitoring/index.js";
import type { MonitorJobDeps } from "../../src/monitoring/index.js";
import { registerMonitoringMetrics } from "../../src/monitoring/prometheus.js";
import { SqlInferenceLog } from "../../src/store/inference-log-sql.js";
import { Registry } from "prom-client";
import type { MonitorObservation } from "../../src/store/monitor-observations.js";
import { sqliteStores, type TestStores } from "../store/backends.js";
import { DRIFT_CSV, FEATURES, REF_CSV, frameScores, loadFrame, recordsOf } from "./fixtures.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 5, 1);

let ref: Frame;
let drifted: Frame;
let open: TestStores;
let deps: MonitorJobDeps;

beforeAll(async () => {
  [ref, drifted] = await Promise.all([loadFrame(REF_CSV), loadFrame(DRIFT_CSV)]);
  open = await sqliteStores();
  const s = open.stores;
  const log = new SqlInferenceLog(s.metadata);
  deps = { registry: s.registry, artifacts: s.artifacts, inferenceLog: log, observations: s.observations };
  await s.registry.createModelVersion({ name: "loan-default", source: "models/loan-default/1" });
  await s.registry.createModelVersion({ name: "loan-default", source: "models/loan-default/2" });
  const profile = buildTrainingProfile(ref, { features: FEATURES, scores: frameScores(ref) });
  await attachReferenceProfile(s, { name: "loan-default", version: "1", profile });
  // day 0: the reference population again; day 1: six months of drift; day 2: 3,000 drifted rows
  const step = Math.floor(DAY / 5000);
  await log.append(recordsOf(ref, { start: T0, stepMs: step, version: "1", prefix: "d0" }));
  await log.append(recordsOf(drifted, { start: T0 + DAY, stepMs: step, version: "1", prefix: "d1" }));
  await log.append(recordsOf(drifted, { start: T0 + 2 * DAY, stepMs: step, version: "1", prefix: "d2", rows: 3000 }));
  // version 2 has no profile: its rows are reported and passed over
  await log.append(
    recordsOf(drifted, { start: T0 + 2 * DAY + 7, stepMs: step, version: "2", prefix: "v2", rows: 10 }),
    { durability: "sync" },
  );
}, 60_000);

afterAll(async () => {
  await open.close();
});

function find(obs: readonly MonitorObservation[], kind: string, metric: string, feature?: string) {
  const o = obs.find((x) => x.kind === kind && x.metric === metric && x.feature === feature);
  if (o === undefined) throw new Error(`no ${kind}/${metric}/${feature ?? ""}`);
  return o;
}

describe("reference profile saved with the version", () => {
  it("is stored content-addressed, tagged with its sha256, and reads back equal", async () => {
    const mv = await open.stores.registry.getModelVersion("loan-default", "1");
    const sha = mv.tags.find((t) => t.key === REFERENCE_PROFILE_TAG)?.value;
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    const loaded = await loadReferenceProfile(deps, "loan-default", "1");
    expect(loaded.rows).toBe(5000);
    expect(loaded.features.map((f) => f.name)).toEqual(FEATURES);
    expect(loaded.prediction?.count).toBe(5000);
    // the loaded profile gives the same drift numbers as the raw reference
    const a = computeDrift(loaded, drifted, { method: "ks" });
    const b = computeDrift(ref, drifted, { method: "ks", columns: FEATURES });
    for (const c of a.columns) {
      const other = b.columns.find((x) => x.name === c.name)!;
      expect(c.psi, c.name).toBeCloseTo(other.psi!, 12);
    }
    const e = await loadReferenceProfile(deps, "loan-default", "2").catch((x: unknown) => x);
    expect((e as KeelError).code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect((e as KeelError).message).toContain(REFERENCE_PROFILE_TAG);
  });
});

describe("monitor job over the inference log", () => {
  it("flags the six-month drifted population on credit_score, debt_to_income_ratio, num_delinquencies_12m, not annual_income or region", async () => {
    const r = await runMonitorWindow(deps, {
      modelName: "loan-default",
      windowStart: T0 + DAY,
      windowEnd: T0 + 2 * DAY,
    });
    expect(r.rows).toBe(5000);
    expect(r.versions.map((v) => [v.version, v.rows])).toEqual([["1", 5000]]);
    const obs = r.observations;
    for (const f of ["credit_score", "debt_to_income_ratio", "num_delinquencies_12m"]) {
      const d = find(obs, "drift", "drift", f);
      expect(d.value, f).toBe(1);
      expect(d.severity, f).not.toBe("stable");
    }
    for (const f of ["annual_income", "region"]) {
      const d = find(obs, "drift", "drift", f);
      expect(d.value, f).toBe(0);
      expect(d.severity, f).toBe("stable");
      expect(find(obs, "drift", "psi", f).severity, f).toBe("stable");
    }
    // numbers as computeDrift gives them on the raw CSVs (which the drift tests pin to scipy)
    const direct = computeDrift(ref, drifted, { method: "ks", columns: FEATURES });
    const cs = direct.columns.find((c) => c.name === "credit_score")!;
    expect(find(obs, "drift", "ks_statistic", "credit_score").value).toBeCloseTo(0.2056, 12);
    expect(find(obs, "drift", "ks_p_value", "credit_score").value).toBe(cs.p_value);
    expect(find(obs, "drift", "psi", "credit_score").value).toBeCloseTo(cs.psi!, 12);
    expect(find(obs, "drift", "psi", "credit_score").severity).toBe("major");
    expect(find(obs, "drift", "ks_p_value", "credit_score").severity).toBe("major");
    const region = direct.columns.find((c) => c.name === "region")!;
    expect(find(obs, "drift", "chi2_p_value", "region").value).toBeCloseTo(region.p_value!, 12);
    // prediction drift: the scores move with credit_score
    const pred = find(obs, "prediction_drift", "drift");
    expect(pred.value).toBe(1);
    expect(find(obs, "prediction_drift", "psi").value).toBeGreaterThan(0.1);
    // and everything is in the store, readable as a time series
    const stored = await deps.observations.query({ modelName: "loan-default", from: T0 + DAY, to: T0 + DAY + 1 });
    expect(stored.length).toBe(obs.length);
  });

  it("finds nothing on the reference population itself", async () => {
    const r = await runMonitorWindow(deps, { modelName: "loan-default", windowStart: T0, windowEnd: T0 + DAY });
    for (const f of FEATURES) {
      expect(find(r.observations, "drift", "psi", f).value, f).toBe(0);
      expect(find(r.observations, "drift", "drift", f).value, f).toBe(0);
      expect(find(r.observations, "quality", "null_rate", f).severity, f).toBe("ok");
    }
    for (const f of ["home_ownership", "purpose", "region"]) {
      expect(find(r.observations, "quality", "unseen_categories", f).value).toBe(0);
    }
    expect(find(r.observations, "quality", "out_of_range_rate", "credit_score").value).toBe(0);
  });

  it("checks data quality: null rate against the reference, training range, unseen categories, volume", async () => {
    // day 1 (drifted) first, so day 2's previous window is stored
    await runMonitorWindow(deps, { modelName: "loan-default", windowStart: T0 + DAY, windowEnd: T0 + 2 * DAY });
    const r = await runMonitorWindow(deps, {
      modelName: "loan-default",
      version: "1",
      windowStart: T0 + 2 * DAY,
      windowEnd: T0 + 3 * DAY,
    });
    expect(r.rows).toBe(3000);
    expect(r.previousRows).toBe(5000);
    const change = find(r.observations, "volume", "volume_change");
    expect(change.value).toBeCloseTo(-0.4, 12);
    expect(change.severity).toBe("violation");

    // range: count by hand the drifted rows outside the reference's [min, max]
    const col = (f: Frame, n: string) => f.columns.find((c) => c.name === n) as { values: Float64Array };
    const refCs = col(ref, "credit_score").values;
    let min = Infinity;
    let max = -Infinity;
    for (const v of refCs) if (!Number.isNaN(v)) [min, max] = [Math.min(min, v), Math.max(max, v)];
    const cur = col(drifted, "credit_score").values.subarray(0, 3000);
    let out = 0;
    let present = 0;
    for (const v of cur) {
      if (Number.isNaN(v)) continue;
      present++;
      if (v < min || v > max) out++;
    }
    const range = find(r.observations, "quality", "out_of_range_rate", "credit_score");
    expect(range.value).toBe(out / present);
    expect(range.detail).toMatchObject({ training_min: min, training_max: max });
    expect(range.severity).toBe(out > 0 ? "violation" : "ok");

    const nulls = col(drifted, "employment_years")
      .values.subarray(0, 3000)
      .filter((v) => Number.isNaN(v)).length;
    const refNulls = col(ref, "employment_years").values.filter((v) => Number.isNaN(v)).length;
    const nr = find(r.observations, "quality", "null_rate", "employment_years");
    expect(nr.value).toBe(nulls / 3000);
    expect(nr.detail).toMatchObject({ reference_null_rate: refNulls / 5000 });
    expect(nr.severity).toBe(nulls / 3000 > (2 * refNulls) / 5000 ? "violation" : "ok");
  });

  it("flags null rates above twice the reference, unseen categories and wrong-typed values", async () => {
    const s = open.stores;
    const log = deps.inferenceLog as SqlInferenceLog;
    const start = T0 + 10 * DAY;
    const rows = recordsOf(ref, { start, stepMs: 1000, version: "1", prefix: "q", rows: 400 }).map((r, i) => ({
      ...r,
      features: {
        ...r.features,
        // 10% nulls where the reference has none; a new region on 25 rows; 3 strings in a numeric column
        credit_score: i % 10 === 0 ? null : r.features.credit_score!,
        region: i % 16 === 0 ? "atlantis" : r.features.region!,
        loan_amount: i < 3 ? "12k" : r.features.loan_amount!,
      },
    }));
    await log.append(rows, { durability: "sync" });
    const r = await runMonitorWindow(
      { ...deps, observations: s.observations },
      { modelName: "loan-default", windowStart: start, windowEnd: start + DAY },
    );
    const cs = find(r.observations, "quality", "null_rate", "credit_score");
    expect(cs.value).toBe(40 / 400);
    expect(cs.severity).toBe("violation");
    const region = find(r.observations, "quality", "unseen_categories", "region");
    expect(region.value).toBe(1);
    expect(region.detail).toEqual({ rows: 25, top: [{ category: "atlantis", rows: 25 }] });
    expect(region.severity).toBe("violation");
    const la = find(r.observations, "quality", "null_rate", "loan_amount");
    expect(la.detail).toMatchObject({ invalid_values: 3, nulls: 3 });
    const decisions = r.observations.filter((o) => o.metric === "decision_rate");
    const rejects = rows.filter((x) => x.outputs.decision === "reject").length;
    expect(decisions.find((o) => o.segment === "decision=reject")?.value).toBe(rejects / 400);
    expect(decisions.reduce((a, o) => a + o.value, 0)).toBeCloseTo(1, 12);
  });

  it("passes over a version without a profile found in the log, and refuses one asked for by name", async () => {
    const r = await runMonitorWindow(deps, {
      modelName: "loan-default",
      windowStart: T0 + 2 * DAY,
      windowEnd: T0 + 3 * DAY,
    });
    const v2 = r.versions.find((v) => v.version === "2");
    expect(v2?.rows).toBe(10);
    expect(v2?.skipped[0]?.reason).toContain("no reference profile");
    expect(r.observations.every((o) => o.modelVersion !== "2")).toBe(true);
    const e = await runMonitorWindow(deps, {
      modelName: "loan-default",
      version: "2",
      windowStart: T0 + 2 * DAY,
      windowEnd: T0 + 3 * DAY,
    }).catch((x: unknown) => x);
    expect((e as KeelError).code).toBe("RESOURCE_DOES_NOT_EXIST");
    const bad = await runMonitorWindow(deps, { modelName: "loan-default", windowStart: T0, windowEnd: T0 }).catch(
      (x: unknown) => x,
    );
    expect((bad as KeelError).details).toMatchObject({ field: "windowEnd" });
  });
});

describe("reading a window", () => {
  it("pages through the log without losing or repeating records that share a millisecond", async () => {
    const log = deps.inferenceLog as SqlInferenceLog;
    const start = T0 + 20 * DAY;
    // 50 records on 9 distinct milliseconds, 20 of them on one
    const rows = recordsOf(ref, { start, stepMs: 0, version: "1", prefix: "page", rows: 50 }).map((r, i) => ({
      ...r,
      time: start + (i < 20 ? 0 : 1 + Math.floor((i - 20) / 4)),
    }));
    await log.append(rows, { durability: "sync" });
    for (const pageSize of [1, 3, 7, 50, 51]) {
      const got = await readWindow(log, { modelName: "loan-default", from: start, to: start + DAY }, pageSize);
      expect(got.map((r) => r.requestId).sort(), String(pageSize)).toEqual(rows.map((r) => r.requestId).sort());
    }
  });

  it("reads shadow answers stored in their request's row once each, and leaves them out of the served traffic", async () => {
    const log = deps.inferenceLog as SqlInferenceLog;
    const start = T0 + 30 * DAY;
    // 40 requests on 4 milliseconds, each row carrying version 2's shadow answer
    const rows = recordsOf(ref, { start, stepMs: 0, version: "1", prefix: "sh", rows: 40 }).map((r, i) => ({
      ...r,
      time: start + Math.floor(i / 10),
      shadows: [{ modelName: "loan-default", modelVersion: "2", outputs: { score: i / 100 }, latencyMs: 1 }],
    }));
    await log.append(rows, { durability: "sync" });
    for (const pageSize of [1, 3, 7, 80, 81]) {
      const got = await readWindow(log, { modelName: "loan-default", from: start, to: start + DAY }, pageSize);
      expect(got.length, String(pageSize)).toBe(80);
      expect(new Set(got.map((r) => `${r.requestId}/${r.route}`)).size, String(pageSize)).toBe(80);
    }
    const shadow = await readWindow(
      log,
      { modelName: "loan-default", modelVersion: "2", from: start, to: start + DAY },
      7,
    );
    expect(shadow.map((r) => r.outputs.score)).toEqual(rows.map((_, i) => i / 100));
    expect(shadow.every((r) => r.route === "shadow")).toBe(true);
    // A window without a version monitors what was served: 40 requests, not 80 records.
    const r = await runMonitorWindow(deps, { modelName: "loan-default", windowStart: start, windowEnd: start + DAY });
    expect(find(r.observations, "volume", "request_count").value).toBe(40);
  });
});

describe("drift by segment (reference per home_ownership value)", () => {
  type Scipy = Record<
    string,
    Record<string, { statistic: number; p_value: number; n_reference: number; n_current: number }>
  >;
  let scipy: Scipy;
  let result: Awaited<ReturnType<typeof runMonitorWindow>>;
  const start = T0 + 10 * DAY;

  beforeAll(async () => {
    scipy = JSON.parse(readFileSync(new URL("../fixtures/drift/segment_drift.json", import.meta.url), "utf8")) as Scipy;
    const s = open.stores;
    await s.registry.createModelVersion({ name: "loan-default", source: "models/loan-default/3" });
    const profile = buildTrainingProfile(ref, {
      features: FEATURES,
      scores: frameScores(ref),
      segments: ["home_ownership"],
    });
    await attachReferenceProfile(s, { name: "loan-default", version: "3", profile });
    await new SqlInferenceLog(s.metadata).append(
      recordsOf(drifted, { start, stepMs: Math.floor(DAY / 5000), version: "3", prefix: "seg" }),
      { durability: "sync" },
    );
    result = await runMonitorWindow(deps, {
      modelName: "loan-default",
      version: "3",
      windowStart: start,
      windowEnd: start + DAY,
    });
  }, 60_000);

  it("saves one reference per value with the version and reads it back", async () => {
    const loaded = await loadReferenceProfile(deps, "loan-default", "3");
    expect(loaded.segments?.map((g) => [g.column, g.value, g.profile.rows])).toEqual(
      Object.entries(scipy).map(([segment, f]) => [
        "home_ownership",
        segment.split("=")[1],
        f.credit_score!.n_reference,
      ]),
    );
    // within a segment its own column is constant and not profiled
    expect(loaded.segments?.[0]?.profile.features.map((f) => f.name)).not.toContain("home_ownership");
  });

  it("records KS statistic and p-value per feature within each segment, equal to scipy's ks_2samp on that segment's rows", () => {
    expect(result.versions[0]?.segments?.map((g) => g.segment)).toEqual(Object.keys(scipy));
    let checked = 0;
    for (const [segment, features] of Object.entries(scipy)) {
      for (const [feature, want] of Object.entries(features)) {
        const of = (metric: string) =>
          result.observations.filter(
            (o) => o.kind === "drift" && o.metric === metric && o.feature === feature && o.segment === segment,
          );
        const [stat] = of("ks_statistic");
        const [p] = of("ks_p_value");
        expect(of("ks_statistic"), `${segment} ${feature}`).toHaveLength(1);
        expect(stat!.value).toBeCloseTo(want.statistic, 12);
        expect(stat!.detail).toEqual({ n_reference: want.n_reference, n_current: want.n_current });
        // p-values span 1e-70 .. 1: compare relative to their size
        expect(Math.abs(p!.value - want.p_value)).toBeLessThanOrEqual(1e-9 * want.p_value + 1e-300);
        checked++;
      }
    }
    expect(checked).toBe(15);
    // the pooled series is still written (no segment), and differs from the segments'
    const pooled = result.observations.filter(
      (o) =>
        o.kind === "drift" && o.metric === "ks_statistic" && o.feature === "credit_score" && o.segment === undefined,
    );
    expect(pooled).toHaveLength(1);
  });

  it("exports them on /metrics as keel_monitoring_drift{segment}", async () => {
    const registry = new Registry();
    registerMonitoringMetrics(registry, open.stores.observations, { clock: () => start + DAY + 3_600_000 });
    const values = (await registry.getSingleMetric("keel_monitoring_drift")!.get()).values;
    for (const [segment, features] of Object.entries(scipy)) {
      const found = values.filter(
        (v) =>
          v.labels.segment === segment &&
          v.labels.feature === "credit_score" &&
          v.labels.metric === "ks_statistic" &&
          v.labels.model_version === "3",
      );
      expect(found, segment).toHaveLength(1);
      expect(found[0]!.value).toBeCloseTo(features.credit_score!.statistic, 12);
    }
  });

  it("an alert rule can target one segment, or every value of the column", () => {
    const now = start + DAY + 3_600_000;
    const rule = {
      id: "tenure_ks_by_ownership",
      tier: "notify" as const,
      kind: "drift" as const,
      metric: "ks_p_value",
      feature: "employment_years",
      condition: "below" as const,
      // between the segments' p-values, so one segment fires and two do not
      threshold: 0.5,
    };
    const firing = (segment: string) =>
      evaluateAlertRules([{ ...rule, segment }], result.observations, now)
        .filter((f) => f.firing)
        .map((f) => f.target.segment);
    const want = Object.entries(scipy)
      .filter(([, f]) => f.employment_years!.p_value < 0.5)
      .map(([segment]) => segment);
    expect(want).toHaveLength(1);
    expect(firing("home_ownership=*")).toEqual(want);
    for (const segment of Object.keys(scipy)) {
      expect(firing(segment)).toEqual(want.includes(segment) ? [segment] : []);
    }
  });
});
