/**
 * Monitoring's figures on Prometheus `/metrics`, for Grafana: the latest window of every
 * observation series — drift (PSI, KS / χ² statistic and p-value per feature), prediction drift and
 * decision rates, data quality, rolling performance (AUC, FNR … per window length and segment),
 * fairness gaps, volume and training-serving skew — as one gauge family per observation kind, labelled by model, model
 * version, endpoint, feature, segment and metric. Read from the observation store at each scrape.
 */
import { Gauge, type Registry } from "prom-client";
import type { Clock } from "../runtime/index.js";
import type { MonitorObservation, ObservationKind, ObservationStore } from "../store/index.js";
import { OBSERVATION_KINDS } from "../wire/index.js";

const LABELS = ["model", "model_version", "endpoint", "feature", "segment", "metric"] as const;

const HELP: Readonly<Record<ObservationKind, string>> = {
  drift:
    "Input drift of the latest monitor window per feature, pooled and per segment (metric: psi, ks_statistic, ks_p_value, chi2_*, drift).",
  prediction_drift:
    "Score drift (psi, ks_*) and decision rates (segment decision=<label>) of the latest monitor window.",
  quality: "Data quality of the latest monitor window per feature (null_rate, out_of_range_rate, unseen_categories).",
  performance: "Rolling performance on delayed labels (auc_7d, fnr_4h, …), pooled, per segment and per model version.",
  fairness: "Fairness gaps between segment values (demographic_parity_gap_7d, equal_opportunity_gap_7d).",
  volume: "Requests of the latest monitor window (request_count, volume_change, refused_rate).",
  skew: "Training-serving skew of the latest monitor window per feature (share_differing).",
  llm: "LLM gateway route of the latest monitor window (model = route, model_version = prompt version, feature = guardrail check): hallucination_rate, pii_leak_rate, refusal_rate, guardrail_trigger_rate, cost, tokens, latency, error_rate.",
};

/** Series whose latest window ended longer ago than this are left out (the alert rules' default age). */
const DEFAULT_MAX_AGE_MS = 48 * 3_600_000;
const LONGEST_WINDOW_MS = 31 * 86_400_000;

/** Gauge names: `keel_monitoring_drift`, `keel_monitoring_performance`, … */
export function monitoringGaugeName(kind: ObservationKind): string {
  return `keel_monitoring_${kind}`;
}

/** The latest window of each series (model, version, endpoint, feature, segment, metric). */
export function latestPerSeries(observations: readonly MonitorObservation[]): MonitorObservation[] {
  const latest = new Map<string, MonitorObservation>();
  for (const o of observations) {
    const key = [
      o.kind,
      o.modelName,
      o.modelVersion ?? "",
      o.endpoint ?? "",
      o.feature ?? "",
      o.segment ?? "",
      o.metric,
    ].join("\u0000");
    const seen = latest.get(key);
    if (
      seen === undefined ||
      o.windowEnd > seen.windowEnd ||
      (o.windowEnd === seen.windowEnd && o.windowStart > seen.windowStart)
    )
      latest.set(key, o);
  }
  return [...latest.values()];
}

/**
 * Registers the gauge families on `registry`; each scrape reads the observations of the last
 * `maxAgeMs` (default 48 h) and reports each series' latest value.
 */
export function registerMonitoringMetrics(
  registry: Registry,
  observations: Pick<ObservationStore, "query">,
  options: { readonly clock: Clock; readonly maxAgeMs?: number },
): void {
  const maxAge = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  let pending: Promise<Map<ObservationKind, MonitorObservation[]>> | undefined;
  // One read per scrape, shared by the six families that collect concurrently in it.
  const read = () => {
    pending ??= (async () => {
      const now = options.clock();
      const byKind = new Map<ObservationKind, MonitorObservation[]>();
      for (const kind of OBSERVATION_KINDS) {
        // A window starts up to 31 days before it ends (a 30-day performance window): newest first.
        const rows = await observations.query({
          kind,
          from: now - maxAge - LONGEST_WINDOW_MS,
          order: "desc",
          limit: 100_000,
        });
        byKind.set(kind, latestPerSeries(rows.filter((o) => o.windowEnd >= now - maxAge)));
      }
      return byKind;
    })();
    const p = pending;
    void p.finally(() => {
      if (pending === p) pending = undefined;
    });
    return p;
  };
  for (const kind of OBSERVATION_KINDS) {
    new Gauge({
      name: monitoringGaugeName(kind),
      help: HELP[kind],
      labelNames: LABELS,
      registers: [registry],
      async collect() {
        this.reset();
        for (const o of (await read()).get(kind) ?? []) {
          if (!Number.isFinite(o.value)) continue;
          this.set(
            {
              model: o.modelName,
              model_version: o.modelVersion ?? "",
              endpoint: o.endpoint ?? "",
              feature: o.feature ?? "",
              segment: o.segment ?? "",
              metric: o.metric,
            },
            o.value,
          );
        }
      },
    });
  }
}
