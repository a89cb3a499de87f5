import { metricsRoute } from "./serving.js";
import type { FastifyRequest } from "fastify";
import { UnavailableError } from "../../errors.js";
import { alertJson, runMonitorWindow } from "../../monitoring/index.js";
import type { MonitorObservation } from "../../store/index.js";
import {
  ALERT_STATUSES,
  ALERT_TIERS,
  OBSERVATION_KINDS,
  type AlertStatus,
  type FeatureSummaryJson,
  type ModelLevelObservationJson,
  type MonitorRunJson,
  type MonitoringSummaryJson,
  type ObservationJson,
  type ObservationKind,
} from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import type { MonitoringServices } from "../monitoring-wiring.js";
import { Input } from "../input.js";
import { actorOf } from "./mlflow-common.js";
import { specError } from "../../spec-fields.js";

/** The largest |epoch ms| a Date holds; beyond it `toISOString` throws, so answers could not be written. */
const MAX_TIME_MS = 8.64e15;

/** An ISO-8601 time or epoch milliseconds. */
export function time(input: Input, field: string): number | undefined {
  const v = input.string(field);
  if (v === undefined) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > MAX_TIME_MS) {
    throw specError(field, v, "must be an ISO-8601 time or epoch milliseconds");
  }
  return ms;
}

export function observationJson(o: MonitorObservation): ObservationJson {
  return {
    model_name: o.modelName,
    model_version: o.modelVersion ?? null,
    endpoint: o.endpoint ?? null,
    window_start: new Date(o.windowStart).toISOString(),
    window_end: new Date(o.windowEnd).toISOString(),
    kind: o.kind,
    metric: o.metric,
    feature: o.feature ?? null,
    segment: o.segment ?? null,
    value: o.value,
    severity: o.severity ?? null,
    detail: o.detail ?? {},
  };
}

/** The latest window's observations of one model, per feature. */
function summaryJson(model: string, latest: readonly MonitorObservation[]): MonitoringSummaryJson {
  const features = new Map<string, FeatureSummaryJson>();
  const model_level: ModelLevelObservationJson[] = [];
  for (const o of latest) {
    if (o.feature === undefined) {
      model_level.push({
        kind: o.kind,
        metric: o.metric,
        segment: o.segment ?? null,
        model_version: o.modelVersion ?? null,
        value: o.value,
        severity: o.severity ?? null,
      });
      continue;
    }
    const key = `${o.modelVersion ?? ""}\u0000${o.feature}`;
    let f = features.get(key);
    if (f === undefined) features.set(key, (f = { feature: o.feature, model_version: o.modelVersion ?? null }));
    f[o.metric] = o.value;
    if (o.severity !== undefined) f[`${o.metric}_severity`] = o.severity;
  }
  const first = latest[0];
  return {
    model,
    window_start: first ? new Date(first.windowStart).toISOString() : null,
    window_end: first ? new Date(first.windowEnd).toISOString() : null,
    features: [...features.values()],
    model_level,
  };
}

/**
 * Monitoring observations and alerts (docs/monitoring.md): time series and latest-window summary
 * (reader), a one-off monitor window (writer), alert history (reader) and acknowledgement (writer).
 */
export const monitoringRoutes: RoutePlugin = (app, deps) => {
  const services = (): MonitoringServices => {
    if (deps.monitoring === undefined) throw new UnavailableError("monitoring is not configured on this server");
    return deps.monitoring;
  };
  // With a model server, serving's routes expose /metrics with every registry.
  if (deps.serving === undefined && deps.monitoring !== undefined)
    metricsRoute(app, [
      deps.monitoring.metrics,
      ...(deps.llm?.gateway === undefined ? [] : [deps.llm.gateway.metrics]),
    ]);

  app.get("/api/keel/monitoring/observations", async (req: FastifyRequest) => {
    const input = Input.of(req);
    const model = input.requiredString("model");
    const kind = input.oneOf<ObservationKind>("kind", OBSERVATION_KINDS);
    const limit = input.integer("limit", { min: 1, max: 100_000 });
    const order = input.oneOf("order", ["asc", "desc"] as const);
    const from = time(input, "from");
    const to = time(input, "to");
    if (from !== undefined && to !== undefined && to <= from)
      throw specError("to", input.string("to"), "must be after from");
    const opt = (field: string) => {
      const v = input.string(field);
      if (v === "") throw specError(field, v, "must not be empty");
      return v;
    };
    const metric = opt("metric");
    const feature = opt("feature");
    const segment = opt("segment");
    const version = opt("version");
    const rows = await services().observations.query({
      modelName: model,
      ...(kind !== undefined ? { kind } : {}),
      ...(metric !== undefined ? { metric } : {}),
      ...(feature !== undefined ? { feature } : {}),
      ...(segment !== undefined ? { segment } : {}),
      ...(version !== undefined ? { modelVersion: version } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(order !== undefined ? { order } : {}),
    });
    return { observations: rows.map(observationJson) };
  });

  app.get("/api/keel/monitoring/summary", async (req: FastifyRequest) => {
    const input = Input.of(req);
    const model = input.requiredString("model");
    const store = services().observations;
    const newest = await store.query({ modelName: model, kind: "drift", order: "desc", limit: 1 });
    const anchor = newest[0] ?? (await store.query({ modelName: model, order: "desc", limit: 1 }))[0];
    if (anchor === undefined) return summaryJson(model, []);
    const latest = (
      await store.query({ modelName: model, from: anchor.windowStart, to: anchor.windowStart + 1 })
    ).filter((o) => o.windowEnd === anchor.windowEnd);
    return summaryJson(model, latest);
  });

  app.post("/api/keel/monitoring/run", async (req: FastifyRequest) => {
    const input = Input.of(req);
    const model = input.requiredString("model");
    const from = time(input, "from");
    const to = time(input, "to");
    if (from === undefined) throw specError("from", undefined, "is required (ISO-8601 time or epoch milliseconds)");
    if (to === undefined) throw specError("to", undefined, "is required (ISO-8601 time or epoch milliseconds)");
    // Checked here so the error names the request's field, not the job's `windowEnd`.
    if (to <= from) throw specError("to", input.string("to"), "must be after from");
    const version = input.string("version");
    const endpoint = input.string("endpoint");
    const s = services();
    const result = await runMonitorWindow(s.jobs, {
      modelName: model,
      windowStart: from,
      windowEnd: to,
      ...(version !== undefined ? { version } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
    });
    const alerts = await s.alerts.evaluate(model);
    return {
      model,
      window_start: new Date(from).toISOString(),
      window_end: new Date(to).toISOString(),
      rows: result.rows,
      previous_rows: result.previousRows,
      versions: result.versions.map((v) => ({ version: v.version, rows: v.rows, drift: v.drift, skipped: v.skipped })),
      observations: result.observations.map(observationJson),
      alerts_fired: alerts.fired.map(alertJson),
      alerts_resolved: alerts.resolved.map(alertJson),
    } satisfies MonitorRunJson;
  });

  app.get("/api/keel/alerts", async (req: FastifyRequest) => {
    const input = Input.of(req);
    const model = input.string("model");
    const status = input.oneOf<AlertStatus>("status", ALERT_STATUSES);
    const tier = input.oneOf("tier", ALERT_TIERS);
    const limit = input.integer("limit", { min: 1, max: 10_000 });
    const from = time(input, "from");
    const to = time(input, "to");
    const rows = await services().alertStore.list({
      ...(model !== undefined ? { modelName: model } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(tier !== undefined ? { tier } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
    });
    return { alerts: rows.map(alertJson) };
  });

  app.post<{ Params: { id: string } }>("/api/keel/alerts/:id/ack", async (req) => {
    const alert = await services().alerts.acknowledge(req.params.id, actorOf(req));
    return { alert: alertJson(alert) };
  });

  app.post<{ Params: { id: string } }>("/api/keel/alerts/:id/resolve", async (req) => {
    const alert = await services().alerts.resolve(req.params.id, actorOf(req));
    return { alert: alertJson(alert) };
  });
};
