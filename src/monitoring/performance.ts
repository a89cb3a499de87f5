import { NotFoundError } from "../errors.js";
import { CHAMPION_ALIAS, versionDecision, type RegistryStore } from "../registry/index.js";
import { calibration, rocAuc, thresholdMetrics, type ReliabilityBin } from "../stats/index.js";
import type { InferenceRecord, MonitorObservation, ObservationStore } from "../store/index.js";
import { loadLabelledPredictions, type LabelSources, type LabelledPredictions } from "./labels.js";
import { specError } from "../spec-fields.js";

export const DAY_MS = 86_400_000;
/** The rolling windows keel reports by default (days). */
export const PERFORMANCE_WINDOWS = [7, 30] as const;
/** Score at or above which a prediction is a positive decision (serving's default decision threshold). */
export const DEFAULT_DECISION_THRESHOLD = 0.5;
export const CALIBRATION_BINS = 10;
/** Segment value of a prediction whose segment feature is null or absent. */
export const MISSING_SEGMENT = "(missing)";

/** Performance of one group of predictions (all, or one segment value) in one window. */
export interface GroupPerformance {
  /** `column=value`; absent for the whole population. */
  readonly segment?: string;
  /** The model version that made these predictions; absent when the group pools versions. */
  readonly modelVersion?: string;
  /** Routes that served this version's predictions in the window (`champion`, `canary`, …), sorted. */
  readonly routes?: readonly string[];
  /** Predictions logged in the window (labelled or not). */
  readonly predictions: number;
  /** Of those, how many have a label. */
  readonly labelled: number;
  readonly positives: number;
  /** ROC-AUC of the labelled predictions; null unless both classes are present. */
  readonly auc: number | null;
  /** tp / (tp + fp); null when nothing labelled was predicted positive. */
  readonly precision: number | null;
  /** tp / (tp + fn); null without labelled positives. */
  readonly recall: number | null;
  /** fn / (fn + tp) = 1 − recall; null without labelled positives. */
  readonly fnr: number | null;
  /** Expected calibration error over equal-width bins; null without labels or when a score is outside [0, 1]. */
  readonly ece: number | null;
  readonly reliability: readonly ReliabilityBin[];
  /** Share of the window's predictions that are positive decisions (score ≥ threshold); null without predictions. */
  readonly decisionRate: number | null;
}

export interface FairnessGaps {
  /** The declared segment column. */
  readonly column: string;
  /** max − min positive-decision rate over segment values with predictions; null with fewer than two. */
  readonly demographicParityGap: number | null;
  /** max − min true-positive rate (recall) over segment values with labelled positives; null with fewer than two. */
  readonly equalOpportunityGap: number | null;
}

export interface DecisionRateShift {
  readonly current: number | null;
  /** Positive-decision rate of the window just before (same length). */
  readonly previous: number | null;
  /** (current − previous) / previous; null when either is missing or previous is 0. */
  readonly relativeChange: number | null;
  readonly difference: number | null;
}

export interface PerformanceReport {
  readonly modelName: string;
  readonly windowDays: number;
  /** Epoch ms, inclusive / exclusive: predictions made in this range are evaluated. */
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly threshold: number;
  readonly overall: GroupPerformance;
  readonly decisionRate: DecisionRateShift;
  /** Per value of the declared segment column, ordered by value. */
  readonly segments: readonly GroupPerformance[];
  /** Per model version that served predictions in the window (champion, challenger, canary apart), ordered by version. */
  readonly versions: readonly GroupPerformance[];
  readonly fairness: FairnessGaps | null;
}

export interface PerformanceOptions {
  readonly modelName: string;
  /** End of the window (exclusive), epoch ms; the window is [asOf − windowDays, asOf). */
  readonly asOf: number;
  readonly windowDays: number;
  /** A feature of the logged requests to break results down by (e.g. `region`). */
  readonly segment?: string;
  readonly threshold?: number;
  readonly bins?: number;
}

/** A window length in days as text: `7d`, `4h`, `15m` (the largest unit it is a whole number of). */
export function windowText(windowDays: number): string {
  const minutes = Math.round(windowDays * 1440);
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

function checkOptions(o: PerformanceOptions): void {
  if (!Number.isSafeInteger(o.asOf)) throw specError("asOf", o.asOf, "must be epoch milliseconds");
  const minutes = o.windowDays * 1440;
  if (!(Math.abs(minutes - Math.round(minutes)) < 1e-6 && minutes >= 1 && o.windowDays <= 365)) {
    throw specError("window", o.windowDays, "must be a whole number of minutes from 1 minute to 365 days");
  }
  const t = o.threshold ?? DEFAULT_DECISION_THRESHOLD;
  if (!Number.isFinite(t)) throw specError("threshold", t, "must be a finite number");
  if (o.segment !== undefined && o.segment === "") throw specError("segment", o.segment, "must be a feature name");
}

/** The segment value of each prediction, dictionary-coded: `codes[i]` indexes `values` (sorted). */
export function segmentCodes(
  records: readonly InferenceRecord[],
  column: string,
): { codes: Int32Array; values: string[] } {
  const raw = records.map((r) => {
    const v = r.features[column];
    return v === null || v === undefined ? MISSING_SEGMENT : String(v);
  });
  const values = [...new Set(raw)].sort();
  const index = new Map(values.map((v, i) => [v, i]));
  const codes = new Int32Array(raw.length);
  for (let i = 0; i < raw.length; i++) codes[i] = index.get(raw[i] as string) as number;
  return { codes, values };
}

/** Metrics of the rows `rows[0..n)` (indices into the data). */
function groupPerformance(
  data: Pick<LabelledPredictions, "scores" | "labels">,
  rows: Int32Array,
  n: number,
  threshold: number,
  bins: number,
  segment: string | undefined,
): GroupPerformance {
  let labelled = 0;
  let decided = 0;
  for (let k = 0; k < n; k++) {
    const i = rows[k] as number;
    if (!Number.isNaN(data.labels[i])) labelled++;
    if ((data.scores[i] as number) >= threshold) decided++;
  }
  const y = new Uint8Array(labelled);
  const s = new Float64Array(labelled);
  let j = 0;
  let positives = 0;
  let inUnit = true;
  for (let k = 0; k < n; k++) {
    const i = rows[k] as number;
    const label = data.labels[i] as number;
    if (Number.isNaN(label)) continue;
    const score = data.scores[i] as number;
    y[j] = label;
    s[j] = score;
    positives += label;
    if (!(score >= 0 && score <= 1)) inUnit = false;
    j++;
  }
  const base = { ...(segment !== undefined ? { segment } : {}), predictions: n, labelled, positives };
  const decisionRate = n === 0 ? null : decided / n;
  if (labelled === 0) {
    return { ...base, auc: null, precision: null, recall: null, fnr: null, ece: null, reliability: [], decisionRate };
  }
  const t = thresholdMetrics(y, s, threshold);
  const c = t.confusion;
  const cal = inUnit ? calibration(y, s, bins) : null;
  return {
    ...base,
    auc: positives > 0 && positives < labelled ? rocAuc(y, s) : null,
    precision: c.tp + c.fp === 0 ? null : t.precision,
    recall: positives === 0 ? null : t.recall,
    fnr: positives === 0 ? null : t.fnr,
    ece: cal === null ? null : cal.ece,
    reliability: cal === null ? [] : cal.bins,
    decisionRate,
  };
}

/** The model version of each prediction, dictionary-coded as in `segmentCodes`, and the route that served it. */
export interface VersionCodes {
  readonly codes: Int32Array;
  readonly values: readonly string[];
  readonly routes: readonly string[];
}

export function versionCodes(records: readonly InferenceRecord[]): VersionCodes {
  const values = [...new Set(records.map((r) => r.modelVersion))].sort(
    (a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const index = new Map(values.map((v, i) => [v, i]));
  const codes = new Int32Array(records.length);
  for (let i = 0; i < records.length; i++) codes[i] = index.get((records[i] as InferenceRecord).modelVersion) as number;
  return { codes, values, routes: records.map((r) => r.route) };
}

/** Splits the window's rows `inWindow[0..m)` by `codes` (counting sort) and builds one group per non-empty code. */
function groupBy(
  inWindow: Int32Array,
  m: number,
  codes: Int32Array,
  k: number,
  build: (code: number, rows: Int32Array, size: number) => GroupPerformance,
): GroupPerformance[] {
  const counts = new Int32Array(k);
  for (let j = 0; j < m; j++) {
    const c = codes[inWindow[j] as number] as number;
    counts[c] = (counts[c] as number) + 1;
  }
  const offsets = new Int32Array(k + 1);
  for (let c = 0; c < k; c++) offsets[c + 1] = (offsets[c] as number) + (counts[c] as number);
  const ordered = new Int32Array(m);
  const fill = offsets.slice(0, k);
  for (let j = 0; j < m; j++) {
    const i = inWindow[j] as number;
    const c = codes[i] as number;
    ordered[fill[c] as number] = i;
    fill[c] = (fill[c] as number) + 1;
  }
  const groups: GroupPerformance[] = [];
  for (let c = 0; c < k; c++) {
    const size = counts[c] as number;
    if (size === 0) continue;
    groups.push(build(c, ordered.subarray(offsets[c], offsets[c + 1]), size));
  }
  return groups;
}

function spread(values: readonly (number | null)[]): number | null {
  let lo = Infinity;
  let hi = -Infinity;
  let k = 0;
  for (const v of values) {
    if (v === null) continue;
    k++;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return k < 2 ? null : hi - lo;
}

/**
 * Rolling performance of labelled predictions: the window is [asOf − windowDays, asOf) by
 * prediction time. Overall and per segment value: ROC-AUC, precision, recall, FNR (a positive
 * decision is score ≥ threshold), calibration (ECE and reliability bins); the positive-decision
 * rate against the window before; fairness gaps across segment values. `segments` are the
 * dictionary-coded segment values of the predictions (see `segmentCodes`); `versions` their model
 * versions and routes (see `versionCodes`), which gives the same metrics per model version.
 */
export function computePerformance(
  data: Pick<LabelledPredictions, "times" | "scores" | "labels">,
  options: PerformanceOptions,
  segments?: { column: string; codes: Int32Array; values: readonly string[] },
  versions?: VersionCodes,
): PerformanceReport {
  checkOptions(options);
  const threshold = options.threshold ?? DEFAULT_DECISION_THRESHOLD;
  const bins = options.bins ?? CALIBRATION_BINS;
  const end = options.asOf;
  const start = end - options.windowDays * DAY_MS;
  const previousStart = start - options.windowDays * DAY_MS;
  const n = data.times.length;
  const inWindow = new Int32Array(n);
  let m = 0;
  let previous = 0;
  let previousDecided = 0;
  for (let i = 0; i < n; i++) {
    const t = data.times[i] as number;
    if (t >= start && t < end) inWindow[m++] = i;
    else if (t >= previousStart && t < start) {
      previous++;
      if ((data.scores[i] as number) >= threshold) previousDecided++;
    }
  }
  const overall = groupPerformance(data, inWindow, m, threshold, bins, undefined);
  const previousRate = previous === 0 ? null : previousDecided / previous;
  const current = overall.decisionRate;
  const decisionRate: DecisionRateShift = {
    current,
    previous: previousRate,
    relativeChange:
      current === null || previousRate === null || previousRate === 0 ? null : (current - previousRate) / previousRate,
    difference: current === null || previousRate === null ? null : current - previousRate,
  };
  let groups: GroupPerformance[] = [];
  let fairness: FairnessGaps | null = null;
  if (segments !== undefined) {
    groups = groupBy(inWindow, m, segments.codes, segments.values.length, (c, rows, size) =>
      groupPerformance(data, rows, size, threshold, bins, `${segments.column}=${segments.values[c] as string}`),
    );
    fairness = {
      column: segments.column,
      demographicParityGap: spread(groups.map((g) => g.decisionRate)),
      equalOpportunityGap: spread(groups.map((g) => g.recall)),
    };
  }
  const byVersion =
    versions === undefined
      ? []
      : groupBy(inWindow, m, versions.codes, versions.values.length, (c, rows, size) => {
          const routes = new Set<string>();
          for (let k = 0; k < size; k++) routes.add(versions.routes[rows[k] as number] as string);
          return {
            ...groupPerformance(data, rows, size, threshold, bins, undefined),
            modelVersion: versions.values[c] as string,
            routes: [...routes].sort(),
          };
        });
  return {
    modelName: options.modelName,
    windowDays: options.windowDays,
    windowStart: start,
    windowEnd: end,
    threshold,
    overall,
    decisionRate,
    segments: groups,
    fairness,
    versions: byVersion,
  };
}

/**
 * Reads the model's predictions for the window and the one before it, joins their labels, and
 * computes the report (see `computePerformance`).
 */
export async function evaluatePerformance(
  sources: LabelSources,
  options: PerformanceOptions,
): Promise<PerformanceReport> {
  checkOptions(options);
  const span = options.windowDays * DAY_MS;
  const data = await loadLabelledPredictions(sources, {
    modelName: options.modelName,
    from: options.asOf - 2 * span,
    to: options.asOf,
  });
  const segments =
    options.segment === undefined
      ? undefined
      : { column: options.segment, ...segmentCodes(data.records, options.segment) };
  return computePerformance(data, options, segments, versionCodes(data.records));
}

const GROUP_METRICS = ["auc", "precision", "recall", "fnr", "ece", "decisionRate"] as const;
const METRIC_NAME: Record<(typeof GROUP_METRICS)[number], string> = {
  auc: "auc",
  precision: "precision",
  recall: "recall",
  fnr: "fnr",
  ece: "ece",
  decisionRate: "decision_rate",
};

/**
 * The report as observations: kind `performance` with metrics `auc_7d`, `precision_7d`,
 * `recall_7d`, `fnr_7d`, `ece_7d` (reliability bins in `detail`), `decision_rate_7d` and
 * `decision_rate_shift_7d` (relative change), overall (all versions pooled), per segment
 * (`segment` = `column=value`) and per model version (`modelVersion` set, routes in `detail`);
 * kind `fairness` with `demographic_parity_gap_7d` and `equal_opportunity_gap_7d` (`feature` = the
 * segment column). Undefined values (null) are not written.
 */
export function performanceObservations(report: PerformanceReport): MonitorObservation[] {
  const suffix = `_${windowText(report.windowDays)}`;
  const base = { modelName: report.modelName, windowStart: report.windowStart, windowEnd: report.windowEnd };
  const out: MonitorObservation[] = [];
  for (const g of [report.overall, ...report.segments, ...report.versions]) {
    const counts = {
      predictions: g.predictions,
      labelled: g.labelled,
      positives: g.positives,
      threshold: report.threshold,
      ...(g.routes !== undefined ? { routes: g.routes } : {}),
    };
    for (const key of GROUP_METRICS) {
      const value = g[key];
      if (value === null) continue;
      out.push({
        ...base,
        kind: "performance",
        metric: METRIC_NAME[key] + suffix,
        ...(g.segment !== undefined ? { segment: g.segment } : {}),
        ...(g.modelVersion !== undefined ? { modelVersion: g.modelVersion } : {}),
        value,
        detail: key === "ece" ? { ...counts, bins: g.reliability } : counts,
      });
    }
  }
  const shift = report.decisionRate;
  if (shift.relativeChange !== null) {
    out.push({
      ...base,
      kind: "performance",
      metric: `decision_rate_shift${suffix}`,
      value: shift.relativeChange,
      detail: { current: shift.current, previous: shift.previous, difference: shift.difference },
    });
  }
  const f = report.fairness;
  if (f !== null) {
    const rates = report.segments.map((g) => ({
      segment: g.segment,
      decision_rate: g.decisionRate,
      true_positive_rate: g.recall,
      predictions: g.predictions,
      labelled: g.labelled,
    }));
    for (const [metric, value] of [
      ["demographic_parity_gap", f.demographicParityGap],
      ["equal_opportunity_gap", f.equalOpportunityGap],
    ] as const) {
      if (value === null) continue;
      out.push({
        ...base,
        kind: "fairness",
        metric: metric + suffix,
        feature: f.column,
        value,
        detail: { groups: rates },
      });
    }
  }
  return out;
}

/** Evaluates every rolling window (7 and 30 days by default) and appends the observations. */
export async function recordPerformance(
  sources: LabelSources & { readonly observations: ObservationStore },
  options: Omit<PerformanceOptions, "windowDays"> & { windows?: readonly number[] },
): Promise<PerformanceReport[]> {
  const reports: PerformanceReport[] = [];
  for (const windowDays of options.windows ?? PERFORMANCE_WINDOWS) {
    reports.push(await evaluatePerformance(sources, { ...options, windowDays }));
  }
  await sources.observations.append(reports.flatMap(performanceObservations));
  return reports;
}

/**
 * The decision threshold stored on the model's current `champion` version, which performance
 * reports use unless given one; undefined when there is no champion or it stores none.
 */
export async function championThreshold(
  registry: Pick<RegistryStore, "getVersionByAlias">,
  modelName: string,
): Promise<number | undefined> {
  try {
    return versionDecision(await registry.getVersionByAlias(modelName, CHAMPION_ALIAS))?.threshold;
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}
