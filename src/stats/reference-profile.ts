/**
 * ReferenceProfile: everything drift monitoring needs to know about the training (reference)
 * population, small enough to save with a model version, so monitoring never reads the
 * training set again.
 *
 * Per numeric feature: count, nulls, mean / M2 / min / max, PSI bins (the reference deciles'
 * edges, frozen, with counts), a display histogram (20 equal-width bins over the reference range
 * plus under/overflow), a relative-error quantile sketch, the exact value counts when the column
 * has at most 32 distinct values, and a uniform reservoir sample (default 10,000 values) for the
 * tests that need raw values (KS, Wasserstein).
 * Per categorical feature: category counts and nulls. Optionally the prediction (score) column.
 *
 * Mergeable: `mergeProfiles(a, b)` is the profile of the concatenated rows — counts, moments,
 * sketches, value counts and bins add exactly (windows are built with `binsFrom` so they share
 * edges); reservoirs merge into a uniform sample of the union.
 */
import type { Column, Frame } from "../data/index.js";
import { isIdLike, takeRows } from "../data/index.js";
import { InvalidParameterError } from "../errors.js";
import { PSI_DEFAULT_BINS } from "./psi.js";
import { countAtOrBelow, countBelow, histogramSorted, quantileEdges, sortedFinite } from "./quantile.js";
import { mergeSketches, sketchSorted, SKETCH_DEFAULT_ALPHA, type QuantileSketch } from "./sketch.js";
import { specError } from "../spec-fields.js";

export const PROFILE_VERSION = 1;
export const DEFAULT_RESERVOIR_SIZE = 10000;
export const DISPLAY_BINS = 20;
/** Value counts are kept exactly for numeric columns with at most this many distinct values. */
export const LOW_CARDINALITY_CAP = 32;

export interface NumericProfile {
  readonly kind: "numeric";
  readonly name: string;
  /** Non-null values. */
  readonly count: number;
  readonly nullCount: number;
  readonly mean: number;
  /** Sum of squared deviations from the mean (population variance = m2 / count). */
  readonly m2: number;
  readonly min: number;
  readonly max: number;
  /** Inner PSI bin edges (the outer edges are −∞ and +∞). */
  readonly psiEdges: Float64Array;
  readonly psiCounts: Float64Array;
  /** Display histogram edges (DISPLAY_BINS + 1, finite); counts have one underflow and one overflow slot at the ends. */
  readonly histEdges: Float64Array;
  readonly histCounts: Float64Array;
  readonly sketch: QuantileSketch;
  /** Sorted distinct values and their counts, or null when there are more than LOW_CARDINALITY_CAP. */
  readonly distinct: { readonly values: Float64Array; readonly counts: Float64Array } | null;
  /** Sorted uniform sample without replacement of min(count, reservoirSize) values. */
  readonly sample: Float64Array;
}

export interface CategoricalProfile {
  readonly kind: "categorical";
  readonly name: string;
  readonly count: number;
  readonly nullCount: number;
  readonly categories: readonly string[];
  readonly counts: Float64Array;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

export interface ReferenceProfile {
  readonly version: number;
  readonly rows: number;
  readonly reservoirSize: number;
  /** State of the reservoir's random generator, so merges are reproducible. */
  readonly seed: number;
  readonly features: readonly FeatureProfile[];
  readonly prediction: NumericProfile | null;
  /** Columns of the reference left out of the profile (identifiers), with the reason. */
  readonly excluded: readonly { readonly name: string; readonly reason: string }[];
  /** Per value of each segment column, the profile of that value's rows (drift by segment); absent without segments. */
  readonly segments?: readonly SegmentReference[];
}

/** The reference of one segment: the rows whose `column` holds `value`. */
export interface SegmentReference {
  readonly column: string;
  readonly value: string;
  readonly profile: ReferenceProfile;
}

export interface ProfileOptions {
  /** Reservoir capacity per numeric feature; `Infinity` keeps every value (exact KS later). */
  readonly reservoirSize?: number;
  readonly psiBins?: number;
  readonly sketchAlpha?: number;
  readonly seed?: number;
  /** Model scores for the same rows, profiled as the prediction distribution. */
  readonly scores?: Float64Array;
  /** Reuse this profile's PSI and display bin edges (window profiles that must merge with it). */
  readonly binsFrom?: ReferenceProfile;
  /**
   * Sort the frame's numeric columns in place and keep them (not copies) as the samples: for a
   * caller done with the frame, whose rows are then out of order.
   */
  readonly sortInPlace?: boolean;
}

/** Deterministic 32-bit generator (mulberry32); the state travels in the profile. */
function nextRandom(state: { s: number }): number {
  state.s = (state.s + 0x6d2b79f5) | 0;
  let t = state.s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/**
 * k distinct elements of the sorted `from` chosen uniformly (partial Fisher–Yates on a copy), sorted.
 * When k covers it all, `from` itself is returned (profiles never mutate their arrays).
 */
function sampleWithoutReplacement(from: Float64Array, k: number, rng: { s: number }): Float64Array {
  if (k >= from.length) return from;
  const pool = from.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(nextRandom(rng) * (pool.length - i));
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.subarray(0, k).sort();
}

function displayEdges(min: number, max: number): Float64Array {
  const edges = new Float64Array(DISPLAY_BINS + 1);
  const lo = min;
  const hi = max > min ? max : min + 1;
  for (let i = 0; i <= DISPLAY_BINS; i++) edges[i] = lo + ((hi - lo) * i) / DISPLAY_BINS;
  edges[DISPLAY_BINS] = hi;
  return edges;
}

/** Counts in [−∞, e₀), [e₀, e₁), …, [e_{k−1}, e_k], (e_k, ∞] of a sorted sample. */
export function displayCounts(sorted: Float64Array, edges: Float64Array): Float64Array {
  const k = edges.length - 1;
  const counts = histogramSorted(sorted, withOuterEdges(edges));
  // histogramSorted closes only the last bin; move values equal to e_k from overflow into bin k.
  // They need not be the sample's largest: a current window can run past the reference's maximum.
  const eq = countAtOrBelow(sorted, edges[k]!) - countBelow(sorted, edges[k]!);
  counts[k]! += eq;
  counts[k + 1]! -= eq;
  return counts;
}

function distinctCounts(sorted: Float64Array): { values: Float64Array; counts: Float64Array } | null {
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    if (values.length > 0 && values[values.length - 1] === v) counts[counts.length - 1]! += 1;
    else {
      if (values.length === LOW_CARDINALITY_CAP) return null;
      values.push(v);
      counts.push(1);
    }
  }
  return { values: Float64Array.from(values), counts: Float64Array.from(counts) };
}

/** Profile of one numeric sample given its sorted non-null values. */
function profileNumericSorted(
  name: string,
  sorted: Float64Array,
  nullCount: number,
  options: {
    reservoirSize: number;
    psiBins: number;
    sketchAlpha: number;
    rng: { s: number };
    binsFrom?: NumericProfile;
  },
): NumericProfile {
  const n = sorted.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += sorted[i]!;
  mean = n > 0 ? mean / n : Number.NaN;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const d = sorted[i]! - mean;
    m2 += d * d;
  }
  const min = n > 0 ? sorted[0]! : Number.NaN;
  const max = n > 0 ? sorted[n - 1]! : Number.NaN;
  let psiEdges: Float64Array;
  if (options.binsFrom) psiEdges = options.binsFrom.psiEdges;
  else if (n > 0) {
    const e = quantileEdges(sorted, options.psiBins);
    psiEdges = e.slice(1, Math.max(1, e.length - 1));
  } else psiEdges = new Float64Array(0);
  const histEdges = options.binsFrom?.histEdges ?? displayEdges(n > 0 ? min : 0, n > 0 ? max : 1);
  return {
    kind: "numeric",
    name,
    count: n,
    nullCount,
    mean,
    m2,
    min,
    max,
    psiEdges,
    psiCounts: histogramSorted(sorted, withOuterEdges(psiEdges)),
    histEdges,
    histCounts: displayCounts(sorted, histEdges),
    sketch: sketchSorted(sorted, options.sketchAlpha),
    distinct: distinctCounts(sorted),
    sample: sampleWithoutReplacement(sorted, options.reservoirSize, options.rng),
  };
}

/** Inner edges → full PSI edges with −∞ and +∞ at the ends. */
export function withOuterEdges(inner: Float64Array): Float64Array {
  const e = new Float64Array(inner.length + 2);
  e[0] = Number.NEGATIVE_INFINITY;
  e.set(inner, 1);
  e[inner.length + 1] = Number.POSITIVE_INFINITY;
  return e;
}

function profileCategorical(col: Column & { kind: "categorical" }): CategoricalProfile {
  const counts = new Float64Array(col.dictionary.length);
  let nulls = 0;
  for (let i = 0; i < col.codes.length; i++) {
    const c = col.codes[i]!;
    if (c < 0) nulls++;
    else counts[c]! += 1;
  }
  return {
    kind: "categorical",
    name: col.name,
    count: col.codes.length - nulls,
    nullCount: nulls,
    categories: col.dictionary,
    counts,
  };
}

function checkPositiveInt(field: string, v: number, allowInfinity: boolean): void {
  if (!((Number.isInteger(v) && v >= 1) || (allowInfinity && v === Number.POSITIVE_INFINITY))) {
    throw specError(field, v, `must be an integer ≥ 1${allowInfinity ? " or Infinity" : ""}`);
  }
}

/** Profile a reference Frame (and optionally its model scores). */
export function buildReferenceProfile(frame: Frame, options: ProfileOptions = {}): ReferenceProfile {
  const reservoirSize = options.reservoirSize ?? DEFAULT_RESERVOIR_SIZE;
  const psiBins = options.psiBins ?? PSI_DEFAULT_BINS;
  checkPositiveInt("reservoirSize", reservoirSize, true);
  checkPositiveInt("psiBins", psiBins, false);
  if (options.scores && options.scores.length !== frame.nRows) {
    throw new InvalidParameterError(
      `scores.length = ${options.scores.length}: must equal the frame's ${frame.nRows} rows`,
      {
        details: { field: "scores", value: options.scores.length, rule: `length ${frame.nRows}` },
      },
    );
  }
  const rng = { s: options.seed ?? 0 };
  const sketchAlpha = options.sketchAlpha ?? SKETCH_DEFAULT_ALPHA;
  const numericFrom = (name: string): NumericProfile | undefined => {
    const f = options.binsFrom?.features.find((p) => p.name === name);
    return f?.kind === "numeric" ? f : undefined;
  };
  // Identifiers the reader already left out (ReadOptions.skipIdentifiers) and those found here.
  const excluded = (frame.identifiers ?? []).map((name) => ({ name, reason: "identifier column" }));
  const profiled = frame.columns.filter((col) => {
    // An identifier has no distribution to drift, and profiling a million distinct strings would bloat the profile.
    if (!isIdLike(col, frame.nRows)) return true;
    excluded.push({ name: col.name, reason: "identifier column" });
    return false;
  });
  const features: FeatureProfile[] = profiled.map((col) => {
    if (col.kind === "categorical") return profileCategorical(col);
    const binsFrom = numericFrom(col.name);
    const sorted = sortedFinite(col.values, options.sortInPlace === true);
    return profileNumericSorted(col.name, sorted, col.values.length - sorted.length, {
      reservoirSize,
      psiBins,
      sketchAlpha,
      rng,
      ...(binsFrom ? { binsFrom } : {}),
    });
  });
  let prediction: NumericProfile | null = null;
  if (options.scores) {
    const s = options.scores;
    let nulls = 0;
    for (let i = 0; i < s.length; i++) if (s[i] !== s[i]) nulls++;
    const from = options.binsFrom?.prediction;
    prediction = profileNumericSorted("prediction", sortedFinite(s), nulls, {
      reservoirSize,
      psiBins,
      sketchAlpha,
      rng,
      ...(from ? { binsFrom: from } : {}),
    });
  }
  return { version: PROFILE_VERSION, rows: frame.nRows, reservoirSize, seed: rng.s, features, prediction, excluded };
}

function sameEdges(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function addArrays(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

function mergeDistinct(a: NumericProfile["distinct"], b: NumericProfile["distinct"]): NumericProfile["distinct"] {
  if (a === null || b === null) return null;
  const m = new Map<number, number>();
  a.values.forEach((v, i) => m.set(v, a.counts[i]!));
  b.values.forEach((v, i) => m.set(v, (m.get(v) ?? 0) + b.counts[i]!));
  if (m.size > LOW_CARDINALITY_CAP) return null;
  const values = Float64Array.from([...m.keys()]).sort();
  return { values, counts: Float64Array.from(values, (v) => m.get(v)!) };
}

/** A uniform sample of the union: split the draws hypergeometrically, then sample each side. */
function mergeReservoirs(a: NumericProfile, b: NumericProfile, size: number, rng: { s: number }): Float64Array {
  if (a.count + b.count <= size) {
    const out = new Float64Array(a.sample.length + b.sample.length);
    out.set(a.sample);
    out.set(b.sample, a.sample.length);
    return out.sort();
  }
  let remA = a.count;
  let remB = b.count;
  let fromA = 0;
  for (let i = 0; i < size; i++) {
    if (nextRandom(rng) * (remA + remB) < remA) {
      fromA++;
      remA--;
    } else remB--;
  }
  const sa = sampleWithoutReplacement(a.sample, fromA, rng);
  const sb = sampleWithoutReplacement(b.sample, size - fromA, rng);
  const out = new Float64Array(sa.length + sb.length);
  out.set(sa);
  out.set(sb, sa.length);
  return out.sort();
}

function mergeNumeric(a: NumericProfile, b: NumericProfile, size: number, rng: { s: number }): NumericProfile {
  if (!sameEdges(a.psiEdges, b.psiEdges) || !sameEdges(a.histEdges, b.histEdges)) {
    throw new InvalidParameterError(
      `profile feature "${a.name}": bin edges differ: build window profiles with binsFrom so they share the reference's edges`,
      { details: { field: `features.${a.name}.psiEdges`, value: "different", rule: "equal edges to merge" } },
    );
  }
  const n = a.count + b.count;
  // Chan et al.'s pairwise update of mean and M2.
  const delta = b.mean - a.mean;
  const mean = a.count === 0 ? b.mean : b.count === 0 ? a.mean : a.mean + (delta * b.count) / n;
  const m2 = a.count === 0 ? b.m2 : b.count === 0 ? a.m2 : a.m2 + b.m2 + (delta * delta * a.count * b.count) / n;
  return {
    kind: "numeric",
    name: a.name,
    count: n,
    nullCount: a.nullCount + b.nullCount,
    mean,
    m2,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    psiEdges: a.psiEdges,
    psiCounts: addArrays(a.psiCounts, b.psiCounts),
    histEdges: a.histEdges,
    histCounts: addArrays(a.histCounts, b.histCounts),
    sketch: mergeSketches(a.sketch, b.sketch),
    distinct: mergeDistinct(a.distinct, b.distinct),
    sample: mergeReservoirs(a, b, size, rng),
  };
}

function mergeCategorical(a: CategoricalProfile, b: CategoricalProfile): CategoricalProfile {
  const m = new Map<string, number>();
  a.categories.forEach((c, i) => m.set(c, a.counts[i]!));
  b.categories.forEach((c, i) => m.set(c, (m.get(c) ?? 0) + b.counts[i]!));
  const categories = [...m.keys()].sort();
  return {
    kind: "categorical",
    name: a.name,
    count: a.count + b.count,
    nullCount: a.nullCount + b.nullCount,
    categories,
    counts: Float64Array.from(categories, (c) => m.get(c)!),
  };
}

/** The profile of the rows of both profiles together. Features are matched by name and kind. */
export function mergeProfiles(a: ReferenceProfile, b: ReferenceProfile): ReferenceProfile {
  if (a.reservoirSize !== b.reservoirSize) {
    throw new InvalidParameterError(
      `profile reservoirSize ${b.reservoirSize} differs from ${a.reservoirSize}: profiles merge only with equal reservoirs`,
      { details: { field: "reservoirSize", value: b.reservoirSize, rule: `equal to ${a.reservoirSize}` } },
    );
  }
  const rng = { s: (a.seed ^ Math.imul(b.seed, 0x9e3779b1)) | 0 };
  const features = a.features.map((fa) => {
    const fb = b.features.find((f) => f.name === fa.name);
    if (!fb || fb.kind !== fa.kind) {
      throw new InvalidParameterError(`profile feature "${fa.name}" (${fa.kind}) is missing from the other profile`, {
        details: { field: "features", value: fa.name, rule: "same features, same kinds" },
      });
    }
    return fa.kind === "numeric"
      ? mergeNumeric(fa, fb as NumericProfile, a.reservoirSize, rng)
      : mergeCategorical(fa, fb as CategoricalProfile);
  });
  let prediction: NumericProfile | null = null;
  if (a.prediction && b.prediction) prediction = mergeNumeric(a.prediction, b.prediction, a.reservoirSize, rng);
  const excluded = [...a.excluded, ...b.excluded.filter((e) => !a.excluded.some((x) => x.name === e.name))];
  return {
    version: PROFILE_VERSION,
    rows: a.rows + b.rows,
    reservoirSize: a.reservoirSize,
    seed: rng.s,
    features,
    prediction,
    excluded,
  };
}

/**
 * The profile of a model's training data: its input columns (`features`, in the model's order)
 * and the model's scores on the same rows as the prediction distribution. Columns of `frame` not
 * in `features` (target, row id, left-out columns) are not profiled, except that each value of a
 * `segments` column (which need not be a model input) gets a profile of its rows.
 */
export function buildTrainingProfile(
  frame: Frame,
  input: {
    readonly features: readonly string[];
    readonly scores?: Float64Array;
    /** Categorical columns whose values each get a reference of their own (`segments`). */
    readonly segments?: readonly string[];
  } & Omit<ProfileOptions, "scores" | "binsFrom">,
): ReferenceProfile {
  const columns = input.features.map((name) => {
    const c = frame.columns.find((col) => col.name === name);
    if (c === undefined) {
      throw new InvalidParameterError(`feature "${name}" is not a column of the training data`, {
        details: { field: "features", value: name, rule: "a column of the data" },
      });
    }
    return c;
  });
  const { features: _features, segments: segmentColumns, ...options } = input;
  const model = { nRows: frame.nRows, columns };
  const profile = buildReferenceProfile(model, options);
  if (segmentColumns === undefined || segmentColumns.length === 0) return profile;
  const segments = segmentColumns.flatMap((column) => segmentReferences(frame, model, column, options));
  return { ...profile, segments };
}

/**
 * One profile per value of the categorical `column` of `frame` (null rows belong to none), over
 * the model's input `columns` and the scores of the same rows.
 */
function segmentReferences(
  frame: Frame,
  model: Frame,
  column: string,
  options: Omit<ProfileOptions, "binsFrom">,
): SegmentReference[] {
  const c = frame.columns.find((col) => col.name === column);
  if (c === undefined || c.kind !== "categorical") {
    throw specError("segments", column, "must be a categorical column of the training data");
  }
  const rowsOf = c.dictionary.map(() => [] as number[]);
  for (let i = 0; i < c.codes.length; i++) {
    const code = c.codes[i]!;
    if (code >= 0) rowsOf[code]!.push(i);
  }
  const out: SegmentReference[] = [];
  c.dictionary.forEach((value, code) => {
    const idx = Int32Array.from(rowsOf[code]!);
    if (idx.length === 0) return;
    const scores = options.scores === undefined ? undefined : Float64Array.from(idx, (i) => options.scores![i]!);
    // Within a segment its own column is constant: nothing to drift.
    const inputs = { nRows: model.nRows, columns: model.columns.filter((col) => col.name !== column) };
    const profile = buildReferenceProfile(takeRows(inputs, idx), {
      ...options,
      ...(scores !== undefined ? { scores } : {}),
    });
    out.push({ column, value, profile });
  });
  return out.sort((a, b) => (a.column < b.column ? -1 : a.column > b.column ? 1 : a.value < b.value ? -1 : 1));
}
