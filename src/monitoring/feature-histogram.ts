/**
 * A column's distribution in windows of the inference log next to its reference (the training
 * data's profile saved with the version): a feature in one window is what a drift heatmap cell
 * opens; the score in a run of windows is the score distribution over time. Numeric columns use
 * the profile's display bins (with the under- and overflow slots), categorical ones its
 * categories plus one slot for values the reference never saw.
 */
import { NotFoundError } from "../errors.js";
import { CHAMPION_ALIAS } from "../registry/index.js";
import { specError } from "../spec-fields.js";
import type { CategoricalProfile, NumericProfile } from "../stats/index.js";
import { displayCounts } from "../stats/index.js";
import type { InferenceRecord } from "../store/index.js";
import type { MonitorJobDeps } from "./monitor-job.js";
import { forEachWindowPage, predictionsOf } from "./monitor-job.js";
import { loadReferenceProfile } from "./reference-store.js";

export interface FeatureHistogram {
  readonly model: string;
  readonly version: string;
  readonly feature: string;
  readonly kind: "numeric" | "categorical";
  /** One label per slot, e.g. `< 300`, `[300, 355)`, `> 850`, or a category; `(unseen)` last for categories. */
  readonly labels: readonly string[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
  /** Rows of the window (nulls included); nulls are in no slot. */
  readonly currentRows: number;
  readonly currentNulls: number;
}

interface WindowedQuery {
  readonly modelName: string;
  /** Default: the version the `champion` alias points at. */
  readonly version?: string;
  readonly endpoint?: string;
  /** Epoch ms, inclusive. */
  readonly windowStart: number;
  /** Epoch ms, exclusive. */
  readonly windowEnd: number;
}

export interface FeatureHistogramQuery extends WindowedQuery {
  readonly feature: string;
}

export interface ScoreHistogramsQuery extends WindowedQuery {
  /** Length of each window in ms; [windowStart, windowEnd) must be a whole number of them. */
  readonly windowMs: number;
  /** Output holding the score (default `score`, as the monitor job reads it). */
  readonly scoreOutput?: string;
}

/** One window's counts per slot. */
export interface WindowCounts {
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Predictions in the window; those without a value (or with a value of the wrong type) are in no slot. */
  readonly rows: number;
  readonly nulls: number;
  readonly current: readonly number[];
}

export interface ScoreHistograms {
  readonly model: string;
  readonly version: string;
  readonly output: string;
  readonly labels: readonly string[];
  /** The version's training scores per slot (the reference profile's prediction distribution). */
  readonly reference: readonly number[];
  readonly windows: readonly WindowCounts[];
}

/** Most windows one score-histogram query may ask for. */
export const MAX_HISTOGRAM_WINDOWS = 500;

const UNSEEN = "(unseen)";

function edgeText(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4).replace(/\.?0+$/, "");
}

/** Labels of [−∞, e₀), [e₀, e₁), …, [e_{k−1}, e_k], (e_k, ∞]. */
export function binLabels(edges: Float64Array): string[] {
  const k = edges.length - 1;
  const labels = [`< ${edgeText(edges[0]!)}`];
  for (let i = 0; i < k; i++) {
    labels.push(`[${edgeText(edges[i]!)}, ${edgeText(edges[i + 1]!)}${i === k - 1 ? "]" : ")"}`);
  }
  labels.push(`> ${edgeText(edges[k]!)}`);
  return labels;
}

/** How a profiled column's values fall into slots. */
interface Slots {
  readonly kind: "numeric" | "categorical";
  readonly labels: readonly string[];
  readonly reference: readonly number[];
  /** Counts per slot of the window's non-null values; values of the wrong type are in no slot. */
  count(values: readonly unknown[]): number[];
}

function numericSlots(p: NumericProfile): Slots {
  return {
    kind: "numeric",
    labels: binLabels(p.histEdges),
    reference: [...p.histCounts],
    count(values) {
      const numbers = new Float64Array(values.length);
      let n = 0;
      for (const v of values) if (typeof v === "number" && !Number.isNaN(v)) numbers[n++] = v;
      return [...displayCounts(numbers.subarray(0, n).sort(), p.histEdges)];
    },
  };
}

function categoricalSlots(p: CategoricalProfile): Slots {
  const index = new Map(p.categories.map((c, i) => [c, i]));
  return {
    kind: "categorical",
    labels: [...p.categories, UNSEEN],
    reference: [...p.counts, 0],
    count(values) {
      const current = new Array<number>(p.categories.length + 1).fill(0);
      for (const v of values) current[index.get(String(v)) ?? p.categories.length]! += 1;
      return current;
    },
  };
}

/**
 * The version's predictions in [windowStart, windowEnd), cut into windows of `windowMs`, one
 * column's values counted per window in `slots`: one pass over the log, a page at a time.
 */
async function countByWindow(
  deps: Pick<MonitorJobDeps, "inferenceLog">,
  q: WindowedQuery & { readonly version: string; readonly windowMs: number },
  slots: Slots,
  value: (r: InferenceRecord) => unknown,
): Promise<WindowCounts[]> {
  const n = Math.ceil((q.windowEnd - q.windowStart) / q.windowMs);
  const values = Array.from({ length: n }, (): unknown[] => []);
  const rows = new Float64Array(n);
  const nulls = new Float64Array(n);
  const read = { modelName: q.modelName, modelVersion: q.version, from: q.windowStart, to: q.windowEnd };
  await forEachWindowPage(
    deps.inferenceLog,
    q.endpoint === undefined ? read : { ...read, endpoint: q.endpoint },
    (page) => {
      for (const r of predictionsOf(page, q.version)) {
        const w = Math.floor((r.time - q.windowStart) / q.windowMs);
        rows[w]! += 1;
        const v = value(r);
        if (v === null || v === undefined) nulls[w]! += 1;
        else values[w]!.push(v);
      }
    },
  );
  return values.map((vs, w) => ({
    windowStart: q.windowStart + w * q.windowMs,
    windowEnd: Math.min(q.windowEnd, q.windowStart + (w + 1) * q.windowMs),
    rows: rows[w]!,
    nulls: nulls[w]!,
    current: slots.count(vs),
  }));
}

const championOr = async (deps: Pick<MonitorJobDeps, "registry">, q: WindowedQuery) =>
  q.version ?? (await deps.registry.getVersionByAlias(q.modelName, CHAMPION_ALIAS)).version;

export async function featureHistogram(
  deps: Pick<MonitorJobDeps, "registry" | "artifacts" | "inferenceLog">,
  q: FeatureHistogramQuery,
): Promise<FeatureHistogram> {
  const version = await championOr(deps, q);
  const profile = await loadReferenceProfile(deps, q.modelName, version);
  const feature = profile.features.find((f) => f.name === q.feature);
  if (feature === undefined) {
    throw new NotFoundError(
      `feature ${JSON.stringify(q.feature)} is not in the reference profile of ${q.modelName} version ${version} (features: ${profile.features.map((f) => f.name).join(", ")})`,
      { details: { field: "feature", value: q.feature } },
    );
  }
  const slots = feature.kind === "numeric" ? numericSlots(feature) : categoricalSlots(feature);
  const windowMs = q.windowEnd - q.windowStart;
  const [w] = await countByWindow(deps, { ...q, version, windowMs }, slots, (r) => r.features[q.feature]);
  return {
    model: q.modelName,
    version,
    feature: q.feature,
    kind: slots.kind,
    labels: slots.labels,
    reference: slots.reference,
    current: w!.current,
    currentRows: w!.rows,
    currentNulls: w!.nulls,
  };
}

/** The version's score distribution in each window of [windowStart, windowEnd) next to its training scores'. */
export async function scoreHistograms(
  deps: Pick<MonitorJobDeps, "registry" | "artifacts" | "inferenceLog">,
  q: ScoreHistogramsQuery,
): Promise<ScoreHistograms> {
  const span = q.windowEnd - q.windowStart;
  if (!Number.isSafeInteger(q.windowMs) || q.windowMs < 1 || span % q.windowMs !== 0) {
    throw specError("window_ms", q.windowMs, `must be a positive integer dividing to − from (${span} ms)`);
  }
  if (span / q.windowMs > MAX_HISTOGRAM_WINDOWS) {
    throw specError("window_ms", q.windowMs, `gives ${span / q.windowMs} windows; at most ${MAX_HISTOGRAM_WINDOWS}`);
  }
  const version = await championOr(deps, q);
  const profile = await loadReferenceProfile(deps, q.modelName, version);
  if (profile.prediction === null) {
    throw new NotFoundError(
      `the reference profile of ${q.modelName} version ${version} has no score distribution (it was built without the model's scores)`,
    );
  }
  const output = q.scoreOutput ?? "score";
  const slots = numericSlots(profile.prediction);
  const windows = await countByWindow(deps, { ...q, version }, slots, (r) => r.outputs[output]);
  return { model: q.modelName, version, output, labels: slots.labels, reference: slots.reference, windows };
}
