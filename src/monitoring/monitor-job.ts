/**
 * A monitor job over one window of the inference log: the window's rows are profiled against the
 * ReferenceProfile saved with the model version that scored them, and the results are written as
 * observations (a time series per model, kind, metric and feature).
 *
 * - drift, per input feature: PSI over the reference deciles (severity by the seed's bands), the
 *   KS statistic and p-value for numeric features, χ² for categorical ones (p-value levels), and
 *   a per-feature verdict `drift` (1 when the test's p < 0.05; severity: the worse of the two);
 * - quality, per input feature: null rate (violation above 2× the reference's), share of values
 *   outside the training range [min, max], categories the reference never saw;
 * - prediction drift: the same tests on the score distribution, and the share of each decision;
 * - drift by segment: the same drift tests within each segment the profile has a reference for
 *   (`segment` = `column=value`, e.g. `home_ownership=RENT`), against that segment's training rows;
 * - volume: rows in the window, the change against the previous window of the same length
 *   (violation below −30%), and the share of requests the endpoint refused (`refused_rate`).
 */
import type { CategoricalColumn, Column, Frame, NumericColumn } from "../data/index.js";
import { NotFoundError } from "../errors.js";
import type { RegistryStore } from "../registry/index.js";
import type { ArtifactStore, MonitorObservation, ObservationStore } from "../store/index.js";
import {
  REFUSED_ROUTE,
  inferenceRecordKey,
  isServedPrediction,
  type InferenceLog,
  type InferenceRecord,
} from "../store/index.js";
import { computeDrift, pValueSeverity, psiSeverity } from "../stats/index.js";
import type { ColumnDrift, ReferenceProfile } from "../stats/index.js";
import { loadReferenceProfile } from "./reference-store.js";
import { specError } from "../spec-fields.js";

export interface MonitorJobDeps {
  readonly registry: RegistryStore;
  readonly artifacts: ArtifactStore;
  readonly inferenceLog: Pick<InferenceLog, "query">;
  readonly observations: ObservationStore;
}

export interface QualityThresholds {
  /** Null rate above this multiple of the reference's is a violation (default 2). */
  readonly nullRateFactor: number;
  /** Share of values outside the training range above which it is a violation (default 0: any). */
  readonly outOfRangeRate: number;
  /** Relative volume drop against the previous window above which it is a violation (default 0.3). */
  readonly volumeDrop: number;
}

export const DEFAULT_QUALITY_THRESHOLDS: QualityThresholds = { nullRateFactor: 2, outOfRangeRate: 0, volumeDrop: 0.3 };

/** Fewer rows than this in a version's window: quality and volume only, no drift tests (default 100). */
export const DEFAULT_MIN_DRIFT_ROWS = 100;

export interface MonitorWindowInput {
  readonly modelName: string;
  /** Only rows scored by this version; default: every version in the window, each against its own profile. */
  readonly version?: string;
  /** Only rows served at this endpoint. */
  readonly endpoint?: string;
  /** Epoch ms, inclusive. */
  readonly windowStart: number;
  /** Epoch ms, exclusive. */
  readonly windowEnd: number;
  readonly minDriftRows?: number;
  readonly quality?: Partial<QualityThresholds>;
  /** Output holding the decision label (default `decision`) and the score (default `score`). */
  readonly decisionOutput?: string;
  readonly scoreOutput?: string;
}

export interface VersionWindow {
  readonly version: string;
  readonly rows: number;
  /** Per-feature drift (and `prediction` last when the profile has a prediction distribution). */
  readonly drift: readonly ColumnDrift[];
  /** Why a version, a column or a segment was not tested. */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  /** Drift within each segment of the profile (`column=value`), against the segment's own reference. */
  readonly segments?: readonly {
    readonly segment: string;
    readonly rows: number;
    readonly drift: readonly ColumnDrift[];
  }[];
}

export interface MonitorWindowResult {
  readonly modelName: string;
  readonly endpoint?: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly rows: number;
  readonly previousRows: number | null;
  readonly versions: readonly VersionWindow[];
  /** Everything written to the observation store for this window. */
  readonly observations: readonly MonitorObservation[];
}

/** Rows read from the inference log per query. */
const PAGE = 20_000;

/**
 * The window's predictions. Serving logs a canary rollback as a record of route `canary_rollback`
 * with empty features (docs/serving.md); it is an event, not a prediction, so it counts toward no
 * volume or null rate. Shadow answers were never served: a window without a version monitors the
 * served traffic and leaves them out; a window of one version (a shadow's) keeps them.
 */
export function predictionsOf(records: readonly InferenceRecord[], version: string | undefined): InferenceRecord[] {
  return records.filter((r) =>
    version === undefined ? isServedPrediction(r) : r.route !== "canary_rollback" && r.route !== REFUSED_ROUTE,
  );
}

function checkInput(input: MonitorWindowInput): void {
  if (typeof input.modelName !== "string" || input.modelName === "")
    throw specError("model", input.modelName, "is required");
  if (!Number.isSafeInteger(input.windowStart))
    throw specError("windowStart", input.windowStart, "must be epoch milliseconds");
  if (!Number.isSafeInteger(input.windowEnd) || input.windowEnd <= input.windowStart) {
    throw specError("windowEnd", input.windowEnd, "must be epoch milliseconds after windowStart");
  }
  const minRows = input.minDriftRows;
  if (minRows !== undefined && (!Number.isInteger(minRows) || minRows < 1)) {
    throw specError("minDriftRows", minRows, "must be an integer ≥ 1");
  }
}

/**
 * Every record of the window, a page at a time in order of time, paging through the log by time
 * (records of the millisecond a page ends in are not repeated).
 */
export async function forEachWindowPage(
  log: Pick<InferenceLog, "query">,
  q: { modelName: string; modelVersion?: string; endpoint?: string; from: number; to: number },
  onPage: (records: readonly InferenceRecord[]) => void,
  pageSize = PAGE,
): Promise<void> {
  let from = q.from;
  let seenAtFrom = new Set<string>();
  let limit = pageSize;
  for (;;) {
    const page = await log.query({
      modelName: q.modelName,
      ...(q.modelVersion !== undefined ? { modelVersion: q.modelVersion } : {}),
      ...(q.endpoint !== undefined ? { endpoint: q.endpoint } : {}),
      from,
      to: q.to,
      limit,
    });
    const fresh = page.filter((r) => !(r.time === from && seenAtFrom.has(inferenceRecordKey(r))));
    if (page.length < limit) {
      onPage(fresh);
      return;
    }
    const last = page[page.length - 1]!.time;
    if (last === from) {
      // A whole page in one millisecond: read that millisecond again in a larger page.
      limit *= 2;
      continue;
    }
    onPage(fresh);
    from = last;
    seenAtFrom = new Set(page.filter((r) => r.time === last).map(inferenceRecordKey));
    limit = pageSize;
  }
}

/** Every record of the window (see forEachWindowPage). */
export async function readWindow(
  log: Pick<InferenceLog, "query">,
  q: { modelName: string; modelVersion?: string; endpoint?: string; from: number; to: number },
  pageSize = PAGE,
): Promise<InferenceRecord[]> {
  const out: InferenceRecord[] = [];
  await forEachWindowPage(log, q, (page) => out.push(...page), pageSize);
  return out;
}

interface WindowFrame {
  readonly frame: Frame;
  readonly scores: Float64Array | null;
  /** Cells holding a value of the wrong type (a string in a numeric feature), per feature; counted as null. */
  readonly invalid: Map<string, number>;
}

/** The window's rows as columns shaped like the reference profile's features. */
function windowFrame(profile: ReferenceProfile, records: readonly InferenceRecord[], scoreOutput: string): WindowFrame {
  const n = records.length;
  const invalid = new Map<string, number>();
  const columns: Column[] = profile.features.map((f) => {
    let bad = 0;
    if (f.kind === "numeric") {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = records[i]!.features[f.name];
        if (typeof v === "number") values[i] = v;
        else if (typeof v === "boolean") values[i] = v ? 1 : 0;
        else {
          values[i] = Number.NaN;
          if (v !== null && v !== undefined) bad++;
        }
      }
      invalid.set(f.name, bad);
      return { kind: "numeric", name: f.name, values } satisfies NumericColumn;
    }
    const dictionary: string[] = [];
    const index = new Map<string, number>();
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = records[i]!.features[f.name];
      if (v === null || v === undefined) {
        codes[i] = -1;
        continue;
      }
      const s = String(v);
      let c = index.get(s);
      if (c === undefined) {
        c = dictionary.length;
        dictionary.push(s);
        index.set(s, c);
      }
      codes[i] = c;
    }
    invalid.set(f.name, 0);
    return { kind: "categorical", name: f.name, codes, dictionary } satisfies CategoricalColumn;
  });
  let scores: Float64Array | null = null;
  if (profile.prediction !== null) {
    scores = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = records[i]!.outputs[scoreOutput];
      scores[i] = typeof s === "number" ? s : Number.NaN;
    }
  }
  return { frame: { nRows: n, columns }, scores, invalid };
}

interface Base {
  readonly modelName: string;
  readonly modelVersion?: string;
  /** Set on drift within a segment. */
  readonly segment?: string;
  readonly endpoint?: string;
  readonly windowStart: number;
  readonly windowEnd: number;
}

function driftObservations(base: Base, c: ColumnDrift, kind: "drift" | "prediction_drift"): MonitorObservation[] {
  const feature = kind === "drift" ? { feature: c.name } : {};
  const sizes = { n_reference: c.reference_count, n_current: c.current_count };
  const out: MonitorObservation[] = [];
  if (c.psi !== null) {
    out.push({ ...base, ...feature, kind, metric: "psi", value: c.psi, severity: psiSeverity(c.psi), detail: sizes });
  }
  const test = c.method === "chi2" ? "chi2" : "ks";
  out.push({ ...base, ...feature, kind, metric: `${test}_statistic`, value: c.statistic, detail: sizes });
  if (c.p_value !== null) {
    out.push({
      ...base,
      ...feature,
      kind,
      metric: `${test}_p_value`,
      value: c.p_value,
      severity: pValueSeverity(c.p_value),
      detail: sizes,
    });
  }
  out.push({
    ...base,
    ...feature,
    kind,
    metric: "drift",
    value: c.drift ? 1 : 0,
    severity: c.severity,
    detail: { method: c.method, psi: c.psi, p_value: c.p_value, ...sizes },
  });
  return out;
}

const violation = (bad: boolean) => (bad ? "violation" : "ok");

function qualityObservations(
  base: Base,
  profile: ReferenceProfile,
  wf: WindowFrame,
  thresholds: QualityThresholds,
): MonitorObservation[] {
  const out: MonitorObservation[] = [];
  const n = wf.frame.nRows;
  for (const f of profile.features) {
    const col = wf.frame.columns.find((c) => c.name === f.name)!;
    const refTotal = f.count + f.nullCount;
    const refNullRate = refTotal === 0 ? 0 : f.nullCount / refTotal;
    let nulls = 0;
    if (col.kind === "numeric") {
      for (let i = 0; i < n; i++) if (col.values[i] !== col.values[i]) nulls++;
    } else for (let i = 0; i < n; i++) if (col.codes[i]! < 0) nulls++;
    const nullRate = nulls / n;
    out.push({
      ...base,
      feature: f.name,
      kind: "quality",
      metric: "null_rate",
      value: nullRate,
      severity: violation(nullRate > thresholds.nullRateFactor * refNullRate),
      detail: { reference_null_rate: refNullRate, nulls, rows: n, invalid_values: wf.invalid.get(f.name) ?? 0 },
    });
    if (f.kind === "numeric" && col.kind === "numeric") {
      if (f.count === 0) continue;
      let below = 0;
      let above = 0;
      for (let i = 0; i < n; i++) {
        const v = col.values[i]!;
        if (v < f.min) below++;
        else if (v > f.max) above++;
      }
      const present = n - nulls;
      const rate = present === 0 ? 0 : (below + above) / present;
      out.push({
        ...base,
        feature: f.name,
        kind: "quality",
        metric: "out_of_range_rate",
        value: rate,
        severity: violation(rate > thresholds.outOfRangeRate),
        detail: { below, above, training_min: f.min, training_max: f.max },
      });
    } else if (f.kind === "categorical" && col.kind === "categorical") {
      const known = new Set(f.categories);
      const counts = new Float64Array(col.dictionary.length);
      for (let i = 0; i < n; i++) if (col.codes[i]! >= 0) counts[col.codes[i]!]! += 1;
      const unseen: { category: string; rows: number }[] = [];
      col.dictionary.forEach((c, i) => {
        if (!known.has(c) && counts[i]! > 0) unseen.push({ category: c, rows: counts[i]! });
      });
      unseen.sort((a, b) => b.rows - a.rows || (a.category < b.category ? -1 : 1));
      out.push({
        ...base,
        feature: f.name,
        kind: "quality",
        metric: "unseen_categories",
        value: unseen.length,
        severity: violation(unseen.length > 0),
        detail: { rows: unseen.reduce((s, u) => s + u.rows, 0), top: unseen.slice(0, 10) },
      });
    }
  }
  return out;
}

function decisionObservations(base: Base, records: readonly InferenceRecord[], output: string): MonitorObservation[] {
  const counts = new Map<string, number>();
  let total = 0;
  for (const r of records) {
    const d = r.outputs[output];
    if (d === null || d === undefined) continue;
    const k = String(d);
    counts.set(k, (counts.get(k) ?? 0) + 1);
    total++;
  }
  return [...counts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([decision, count]) => ({
      ...base,
      kind: "prediction_drift" as const,
      metric: "decision_rate",
      segment: `${output}=${decision}`,
      value: count / total,
      detail: { count, rows: total },
    }));
}

/** Drift tests of one window frame against `profile`: observations of kind `drift`, and `prediction_drift` for the score. */
function testDrift(
  base: Base,
  profile: ReferenceProfile,
  wf: WindowFrame,
): { observations: MonitorObservation[]; report: ReturnType<typeof computeDrift> } {
  const scores = profile.prediction !== null && profile.prediction.count > 0 ? wf.scores : null;
  const report = computeDrift(profile, wf.frame, {
    method: "ks",
    ...(scores !== null ? { currentScores: scores } : {}),
  });
  // computeDrift appends the score column after the features when it could test it.
  const predictionTested = scores !== null && !report.skipped.some((s) => s.name === "prediction");
  const observations = report.columns.flatMap((c, i) => {
    const isPrediction = predictionTested && i === report.columns.length - 1;
    return driftObservations(base, c, isPrediction ? "prediction_drift" : "drift");
  });
  return { observations, report };
}

/**
 * Drift within each segment the profile carries a reference for: the window's rows whose segment
 * column holds the value, against that value's training rows; observations carry `segment`.
 */
function segmentDrift(
  base: Base,
  profile: ReferenceProfile,
  rows: readonly InferenceRecord[],
  scoreOutput: string,
  minDriftRows: number,
): {
  observations: MonitorObservation[];
  segments: NonNullable<VersionWindow["segments"]>;
  skipped: VersionWindow["skipped"];
} {
  const observations: MonitorObservation[] = [];
  const segments: { segment: string; rows: number; drift: readonly ColumnDrift[] }[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const byColumn = rowsBySegment(rows, new Set((profile.segments ?? []).map((ref) => ref.column)));
  for (const ref of profile.segments ?? []) {
    const segment = `${ref.column}=${ref.value}`;
    const mine = byColumn.get(ref.column)?.get(ref.value) ?? [];
    if (mine.length < minDriftRows) {
      skipped.push({ name: segment, reason: `${mine.length} rows < ${minDriftRows}: too few for drift tests` });
      continue;
    }
    const tested = testDrift({ ...base, segment }, ref.profile, windowFrame(ref.profile, mine, scoreOutput));
    observations.push(...tested.observations);
    segments.push({ segment, rows: mine.length, drift: tested.report.columns });
  }
  return { observations, segments, skipped };
}

/** The rows of each value of each segment column, in one pass over the window (values as strings). */
function rowsBySegment(
  rows: readonly InferenceRecord[],
  columns: ReadonlySet<string>,
): Map<string, Map<string, InferenceRecord[]>> {
  const out = new Map<string, Map<string, InferenceRecord[]>>();
  for (const column of columns) out.set(column, new Map());
  for (const r of rows) {
    for (const [column, byValue] of out) {
      const v = r.features[column];
      if (v === null || v === undefined) continue;
      const key = String(v);
      const list = byValue.get(key);
      if (list === undefined) byValue.set(key, [r]);
      else list.push(r);
    }
  }
  return out;
}

/** Rows of the window before this one (same length): from its stored observation, else from the log. */
async function previousVolume(deps: MonitorJobDeps, input: MonitorWindowInput): Promise<number> {
  const length = input.windowEnd - input.windowStart;
  const prevStart = input.windowStart - length;
  const stored = await deps.observations.query({
    modelName: input.modelName,
    kind: "volume",
    metric: "request_count",
    from: prevStart,
    to: prevStart + 1,
  });
  const match = stored.find(
    (o) => o.windowEnd === input.windowStart && o.modelVersion === input.version && o.endpoint === input.endpoint,
  );
  if (match !== undefined) return match.value;
  const rows = await readWindow(deps.inferenceLog, {
    modelName: input.modelName,
    ...(input.version !== undefined ? { modelVersion: input.version } : {}),
    ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}),
    from: prevStart,
    to: input.windowStart,
  });
  return predictionsOf(rows, input.version).length;
}

/** Runs the monitor job over one window and writes its observations. */
export async function runMonitorWindow(deps: MonitorJobDeps, input: MonitorWindowInput): Promise<MonitorWindowResult> {
  checkInput(input);
  const thresholds = { ...DEFAULT_QUALITY_THRESHOLDS, ...input.quality };
  const minDriftRows = input.minDriftRows ?? DEFAULT_MIN_DRIFT_ROWS;
  const scoreOutput = input.scoreOutput ?? "score";
  const decisionOutput = input.decisionOutput ?? "decision";
  const logged = await readWindow(deps.inferenceLog, {
    modelName: input.modelName,
    ...(input.version !== undefined ? { modelVersion: input.version } : {}),
    ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}),
    from: input.windowStart,
    to: input.windowEnd,
  });
  const records = predictionsOf(logged, input.version);
  const refused = logged.filter((r) => r.route === REFUSED_ROUTE).length;
  const base: Base = {
    modelName: input.modelName,
    ...(input.version !== undefined ? { modelVersion: input.version } : {}),
    ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}),
    windowStart: input.windowStart,
    windowEnd: input.windowEnd,
  };
  const observations: MonitorObservation[] = [];

  const previousRows = await previousVolume(deps, input);
  const volume: MonitorObservation = {
    ...base,
    kind: "volume",
    metric: "request_count",
    value: records.length,
    detail: { previous_rows: previousRows },
  };
  observations.push(volume);
  if (refused > 0 || records.length > 0) {
    // Requests the door turned away (bad input, a business limit) are invisible to every other metric.
    observations.push({
      ...base,
      kind: "volume",
      metric: "refused_rate",
      value: refused / (refused + records.length),
      detail: { refused, rows: records.length },
    });
  }
  if (previousRows > 0) {
    const change = (records.length - previousRows) / previousRows;
    observations.push({
      ...base,
      kind: "volume",
      metric: "volume_change",
      value: change,
      severity: violation(change < -thresholds.volumeDrop),
      detail: { rows: records.length, previous_rows: previousRows },
    });
  }

  const byVersion = new Map<string, InferenceRecord[]>();
  for (const r of records) {
    let list = byVersion.get(r.modelVersion);
    if (list === undefined) byVersion.set(r.modelVersion, (list = []));
    list.push(r);
  }
  if (input.version !== undefined && !byVersion.has(input.version)) byVersion.set(input.version, []);
  const versions: VersionWindow[] = [];
  for (const [version, rows] of [...byVersion.entries()].sort(
    ([a], [b]) => Number(a) - Number(b) || (a < b ? -1 : 1),
  )) {
    const vbase: Base = { ...base, modelVersion: version };
    let profile: ReferenceProfile;
    try {
      profile = await loadReferenceProfile(deps, input.modelName, version);
    } catch (e) {
      // A version asked for by name must have a profile; one found in the log is reported and passed over.
      if (input.version !== undefined || !(e instanceof NotFoundError)) throw e;
      versions.push({ version, rows: rows.length, drift: [], skipped: [{ name: "*", reason: e.message }] });
      continue;
    }
    if (rows.length === 0) {
      versions.push({ version, rows: 0, drift: [], skipped: [{ name: "*", reason: "no rows in the window" }] });
      continue;
    }
    const wf = windowFrame(profile, rows, scoreOutput);
    observations.push(...qualityObservations(vbase, profile, wf, thresholds));
    observations.push(...decisionObservations(vbase, rows, decisionOutput));
    if (rows.length < minDriftRows) {
      versions.push({
        version,
        rows: rows.length,
        drift: [],
        skipped: [{ name: "*", reason: `${rows.length} rows < ${minDriftRows}: too few for drift tests` }],
      });
      continue;
    }
    const { observations: drift, report } = testDrift(vbase, profile, wf);
    const bySegment = segmentDrift(vbase, profile, rows, scoreOutput, minDriftRows);
    observations.push(...drift, ...bySegment.observations);
    versions.push({
      version,
      rows: rows.length,
      drift: report.columns,
      skipped: [...report.skipped, ...bySegment.skipped],
      ...(profile.segments !== undefined ? { segments: bySegment.segments } : {}),
    });
  }
  await deps.observations.append(observations);
  return {
    modelName: input.modelName,
    ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}),
    windowStart: input.windowStart,
    windowEnd: input.windowEnd,
    rows: records.length,
    previousRows,
    versions,
    observations,
  };
}
