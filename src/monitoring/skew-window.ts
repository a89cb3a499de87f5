/**
 * Training-serving skew as a monitored series: for a model served by entity key, each window's
 * logged features are compared with the same features recomputed point-in-time from the offline
 * store (the check itself lives with the features; the wiring passes it in), and one observation
 * per feature (`kind: "skew"`, `metric: "share_differing"`) goes to the observation store, where
 * the alert rules raise their tiers like on any other series.
 */
import type { MonitorObservation, ObservationStore } from "../store/index.js";

/** What a monitored model's skew check compares (`models[].skew` in the monitoring config). */
export interface SkewMonitor {
  readonly featureService: string;
  /** Share of differing rows that flags a feature (default 0.01). */
  readonly threshold?: number;
}

/** One feature's comparison, as the feature store's skew check reports it. */
export interface SkewFinding {
  readonly feature: string;
  readonly compared: number;
  readonly differing: number;
  readonly shareDiffering: number;
  readonly maxAbsDelta: number | null;
  readonly flagged: boolean;
}

/** The skew check over an endpoint's served predictions in [from, to). */
export type SkewCheck = (query: {
  readonly endpoint: string;
  readonly featureService: string;
  readonly from: number;
  readonly to: number;
  readonly threshold?: number;
}) => Promise<{ readonly rows: number; readonly threshold: number; readonly features: readonly SkewFinding[] }>;

/** Runs the check on one window and records its observations; none when the window served no entity. */
export async function recordSkew(
  check: SkewCheck,
  observations: ObservationStore,
  target: { readonly modelName: string; readonly endpoint: string; readonly skew: SkewMonitor },
  window: { readonly start: number; readonly end: number },
): Promise<MonitorObservation[]> {
  const report = await check({
    endpoint: target.endpoint,
    featureService: target.skew.featureService,
    from: window.start,
    to: window.end,
    ...(target.skew.threshold !== undefined ? { threshold: target.skew.threshold } : {}),
  });
  if (report.rows === 0) return [];
  const out = report.features.map((f): MonitorObservation => ({
    modelName: target.modelName,
    endpoint: target.endpoint,
    windowStart: window.start,
    windowEnd: window.end,
    kind: "skew",
    metric: "share_differing",
    feature: f.feature,
    value: f.shareDiffering,
    severity: f.flagged ? "skew" : "stable",
    detail: {
      compared: f.compared,
      differing: f.differing,
      max_abs_delta: f.maxAbsDelta,
      threshold: report.threshold,
      feature_service: target.skew.featureService,
    },
  }));
  await observations.append(out);
  return out;
}
