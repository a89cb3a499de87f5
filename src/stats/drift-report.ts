/**
 * Per-column drift of a current Frame against a reference — a raw Frame or a ReferenceProfile.
 *
 * `method: "auto"` applies stats' documented choice (KS / χ² for references up to 1,000 rows,
 * normalised Wasserstein / Jensen–Shannon above); `method: "ks"` runs KS on every numeric column
 * and χ² on every categorical one, drift when p < 0.05. Every numeric column also gets the PSI over
 * the reference deciles, and every column a severity (see severity.ts). Null cells are left out of
 * every test and reported as null rates. Identifier-like columns are skipped.
 *
 * A raw reference is profiled with an unbounded reservoir, so every statistic is computed on all
 * of its values; a saved profile gives identical PSI / χ² / Jensen–Shannon (they need only counts)
 * and identical KS / Wasserstein when the reference fits in its reservoir (otherwise they are
 * computed on the reservoir's uniform sample).
 */
import type { CategoricalColumn, Frame, NumericColumn } from "../data/index.js";
import { InvalidParameterError } from "../errors.js";
import { chi2Homogeneity } from "./chi2.js";
import { jensenShannon, wassersteinSorted } from "./divergence.js";
import { AUTO_MIN_NUMERIC_DISTINCT, WASSERSTEIN_MIN_STD, chooseDriftMethod, isDrift } from "./drift-method.js";
import type { DriftMethod } from "./drift-method.js";
import { ks2sampSorted } from "./ks.js";
import { psiFromCounts } from "./psi.js";
import { histogramSorted, sortedFinite } from "./quantile.js";
import { buildReferenceProfile, displayCounts, withOuterEdges } from "./reference-profile.js";
import type { NumericProfile, ReferenceProfile } from "./reference-profile.js";
import { columnSeverity } from "./severity.js";
import type { Severity } from "./severity.js";

export type DriftMode = "auto" | "ks";

export interface DriftOptions {
  readonly method?: DriftMode;
  readonly psiBins?: number;
  /** Only these columns (default: every column of the reference that the current frame has). */
  readonly columns?: readonly string[];
  /** Model scores of the reference rows (raw-Frame reference only; a profile carries its own). */
  readonly referenceScores?: Float64Array;
  /** Model scores of the current rows: adds a "prediction" column tested like a numeric feature. */
  readonly currentScores?: Float64Array;
  /**
   * Sort the numeric columns of the reference and current Frames in place instead of copying them:
   * for a caller done with both Frames, whose rows are then out of order (the scores are not touched).
   */
  readonly sortInPlace?: boolean;
}

/** One column's result; field names are the `keel drift --json` contract. */
export interface ColumnDrift {
  readonly name: string;
  readonly kind: "numeric" | "categorical";
  readonly method: DriftMethod;
  readonly statistic: number;
  readonly p_value: number | null;
  /** PSI over the reference deciles (numeric) or over the categories (categorical). */
  readonly psi: number | null;
  readonly drift: boolean;
  readonly severity: Severity;
  readonly reference_null_rate: number;
  readonly current_null_rate: number;
  readonly reference_count: number;
  readonly current_count: number;
}

/** What the HTML report draws per column: bin labels and the two count vectors. */
export interface ColumnHistogram {
  readonly name: string;
  readonly labels: readonly string[];
  readonly reference: Float64Array;
  readonly current: Float64Array;
}

export interface DriftReport {
  readonly method: DriftMode;
  readonly reference_rows: number;
  readonly current_rows: number;
  readonly drifted_columns: number;
  readonly columns: readonly ColumnDrift[];
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  readonly histograms: readonly ColumnHistogram[];
}

function nullRate(nulls: number, total: number): number {
  return total === 0 ? 0 : nulls / total;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function numericLabels(edges: Float64Array): string[] {
  const labels = [`< ${fmt(edges[0]!)}`];
  for (let i = 0; i + 1 < edges.length; i++) labels.push(`${fmt(edges[i]!)} – ${fmt(edges[i + 1]!)}`);
  labels.push(`> ${fmt(edges[edges.length - 1]!)}`);
  return labels;
}

/** Category counts of the current column aligned to `categories` (extended with unseen ones). */
function alignCategories(
  refCategories: readonly string[],
  refCounts: Float64Array,
  cur: CategoricalColumn,
): { categories: string[]; ref: Float64Array; cur: Float64Array; nulls: number } {
  const index = new Map<string, number>();
  const categories = [...refCategories];
  categories.forEach((c, i) => index.set(c, i));
  const map = new Int32Array(cur.dictionary.length);
  cur.dictionary.forEach((c, i) => {
    let k = index.get(c);
    if (k === undefined) {
      k = categories.length;
      categories.push(c);
      index.set(c, k);
    }
    map[i] = k;
  });
  const curCounts = new Float64Array(categories.length);
  let nulls = 0;
  for (let i = 0; i < cur.codes.length; i++) {
    const c = cur.codes[i]!;
    if (c < 0) nulls++;
    else curCounts[map[c]!]! += 1;
  }
  const ref = new Float64Array(categories.length);
  ref.set(refCounts);
  return { categories, ref, cur: curCounts, nulls };
}

interface Outcome {
  column: ColumnDrift;
  histogram: ColumnHistogram;
}

function categoricalOutcome(
  name: string,
  kind: "numeric" | "categorical",
  mode: DriftMode,
  categories: readonly string[],
  refCounts: Float64Array,
  curCounts: Float64Array,
  refNulls: number,
  curNulls: number,
): Outcome {
  let refN = 0;
  let curN = 0;
  for (let i = 0; i < refCounts.length; i++) {
    refN += refCounts[i]!;
    curN += curCounts[i]!;
  }
  const method: DriftMethod =
    mode === "ks"
      ? "chi2"
      : chooseDriftMethod({ kind: "categorical", referenceRows: refN, distinct: categories.length });
  let statistic: number;
  let pValue: number | null = null;
  if (method === "chi2") {
    const r = chi2Homogeneity(refCounts, curCounts);
    statistic = r.statistic;
    pValue = r.pValue;
  } else statistic = jensenShannon(refCounts, curCounts);
  const psi = psiFromCounts(refCounts, curCounts, refN, curN);
  return {
    column: {
      name,
      kind,
      method,
      statistic,
      p_value: pValue,
      psi,
      drift: isDrift(method, statistic, pValue),
      severity: columnSeverity(psi, pValue),
      reference_null_rate: nullRate(refNulls, refN + refNulls),
      current_null_rate: nullRate(curNulls, curN + curNulls),
      reference_count: refN,
      current_count: curN,
    },
    histogram: { name, labels: categories.map(String), reference: refCounts, current: curCounts },
  };
}

/** Distinct values of a sorted sample, stopping once there are more than `cap`. */
function smallDistinct(sorted: Float64Array, cap: number): Float64Array | null {
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) {
      if (out.length === cap) return null;
      out.push(sorted[i]!);
    }
  }
  return Float64Array.from(out);
}

function numericOutcome(ref: NumericProfile, cur: NumericColumn, mode: DriftMode, inPlace: boolean): Outcome {
  const curSorted = sortedFinite(cur.values, inPlace);
  const curNulls = cur.values.length - curSorted.length;
  if (mode === "auto" && ref.distinct !== null) {
    // Few distinct values: test the value counts as categories when the union stays ≤ 5.
    const curDistinct = smallDistinct(curSorted, AUTO_MIN_NUMERIC_DISTINCT);
    if (curDistinct !== null) {
      const union = new Set<number>([...ref.distinct.values, ...curDistinct]);
      if (union.size <= AUTO_MIN_NUMERIC_DISTINCT) {
        const values = Float64Array.from(union).sort();
        const refCounts = new Float64Array(values.length);
        const curCounts = new Float64Array(values.length);
        ref.distinct.values.forEach((v, i) => (refCounts[values.indexOf(v)] = ref.distinct!.counts[i]!));
        const edges = new Float64Array(values.length + 1);
        values.forEach((v, i) => (edges[i] = v));
        edges[values.length] = Number.POSITIVE_INFINITY;
        edges[0] = Number.NEGATIVE_INFINITY;
        curCounts.set(histogramSorted(curSorted, edges));
        return categoricalOutcome(
          ref.name,
          "numeric",
          mode,
          Array.from(values, fmt),
          refCounts,
          curCounts,
          ref.nullCount,
          curNulls,
        );
      }
    }
  }
  const method: DriftMethod =
    mode === "ks"
      ? "ks"
      : chooseDriftMethod({ kind: "numeric", referenceRows: ref.count, distinct: AUTO_MIN_NUMERIC_DISTINCT + 1 });
  let statistic: number;
  let pValue: number | null = null;
  if (method === "ks") {
    const r = ks2sampSorted(ref.sample, curSorted);
    statistic = r.statistic;
    pValue = r.pValue;
  } else {
    const std = Math.sqrt(ref.m2 / ref.count);
    statistic = wassersteinSorted(ref.sample, curSorted) / Math.max(std, WASSERSTEIN_MIN_STD);
  }
  const curPsi = histogramSorted(curSorted, withOuterEdges(ref.psiEdges));
  const psi = psiFromCounts(ref.psiCounts, curPsi, ref.count, curSorted.length);
  return {
    column: {
      name: ref.name,
      kind: "numeric",
      method,
      statistic,
      p_value: pValue,
      psi,
      drift: isDrift(method, statistic, pValue),
      severity: columnSeverity(psi, pValue),
      reference_null_rate: nullRate(ref.nullCount, ref.count + ref.nullCount),
      current_null_rate: nullRate(curNulls, cur.values.length),
      reference_count: ref.count,
      current_count: curSorted.length,
    },
    histogram: {
      name: ref.name,
      labels: numericLabels(ref.histEdges),
      reference: ref.histCounts,
      current: displayCounts(curSorted, ref.histEdges),
    },
  };
}

function isProfile(r: Frame | ReferenceProfile): r is ReferenceProfile {
  return "features" in r;
}

/**
 * The reference side of computeDrift: a saved profile as it is, or the profile of a reference Frame
 * (every value kept, so tests are exact). A caller holding a large reference Frame can build this
 * first and let the Frame go before the current data is read.
 */
export function driftProfile(
  reference: Frame | ReferenceProfile,
  options: Pick<DriftOptions, "columns" | "psiBins" | "referenceScores" | "sortInPlace"> = {},
): ReferenceProfile {
  const wanted = options.columns ? new Set(options.columns) : null;
  const refNames = isProfile(reference)
    ? [...reference.features.map((f) => f.name), ...reference.excluded.map((e) => e.name)]
    : [...reference.columns.map((c) => c.name), ...(reference.identifiers ?? [])];
  for (const name of wanted ?? []) {
    if (!refNames.includes(name)) {
      throw new InvalidParameterError(`column "${name}" is not in the reference`, {
        details: { field: "columns", value: name, rule: "a reference column" },
      });
    }
  }
  if (isProfile(reference)) return reference;
  const keep = reference.columns.filter((c) => !wanted || wanted.has(c.name));
  const identifiers = (reference.identifiers ?? []).filter((name) => !wanted || wanted.has(name));
  return buildReferenceProfile(
    { nRows: reference.nRows, columns: keep, identifiers },
    {
      reservoirSize: Number.POSITIVE_INFINITY,
      sortInPlace: options.sortInPlace === true,
      ...(options.psiBins === undefined ? {} : { psiBins: options.psiBins }),
      ...(options.referenceScores === undefined ? {} : { scores: options.referenceScores }),
    },
  );
}

/** Compute the drift report of `current` against `reference` (a raw Frame or a saved profile). */
export function computeDrift(
  reference: Frame | ReferenceProfile,
  current: Frame,
  options: DriftOptions = {},
): DriftReport {
  const mode = options.method ?? "auto";
  if (mode !== "auto" && mode !== "ks") {
    throw new InvalidParameterError(`method = "${String(mode)}": must be "auto" or "ks"`, {
      details: { field: "method", value: mode, rule: "auto | ks" },
    });
  }
  const skipped: { name: string; reason: string }[] = [];
  const wanted = options.columns ? new Set(options.columns) : null;
  const profile = driftProfile(reference, options);
  for (const e of profile.excluded) if (!wanted || wanted.has(e.name)) skipped.push({ ...e });
  const columns: ColumnDrift[] = [];
  const histograms: ColumnHistogram[] = [];
  for (const ref of profile.features) {
    if (wanted && !wanted.has(ref.name)) continue;
    const cur = current.columns.find((c) => c.name === ref.name);
    if (!cur) {
      const identifier = current.identifiers?.includes(ref.name) === true;
      skipped.push({ name: ref.name, reason: identifier ? "identifier column in current" : "missing from current" });
      continue;
    }
    if (cur.kind !== ref.kind) {
      throw new InvalidParameterError(
        `column "${ref.name}" is ${ref.kind} in the reference but ${cur.kind} in the current data: types must match`,
        { details: { field: ref.name, value: cur.kind, rule: `${ref.kind} as in the reference` } },
      );
    }
    let outcome: Outcome;
    if (ref.kind === "numeric") {
      const c = cur as NumericColumn;
      const curNonNull = c.values.length - countNaN(c.values);
      if (ref.count === 0 || curNonNull === 0) {
        skipped.push({ name: ref.name, reason: ref.count === 0 ? "no values in reference" : "no values in current" });
        continue;
      }
      outcome = numericOutcome(ref, c, mode, options.sortInPlace === true);
    } else {
      const r = ref;
      const a = alignCategories(r.categories, r.counts, cur as CategoricalColumn);
      if (r.count === 0 || a.cur.every((v) => v === 0)) {
        skipped.push({ name: ref.name, reason: r.count === 0 ? "no values in reference" : "no values in current" });
        continue;
      }
      outcome = categoricalOutcome(ref.name, "categorical", mode, a.categories, a.ref, a.cur, r.nullCount, a.nulls);
    }
    columns.push(outcome.column);
    histograms.push(outcome.histogram);
  }
  if (options.currentScores !== undefined) {
    if (profile.prediction === null || profile.prediction.count === 0) {
      throw new InvalidParameterError(
        "currentScores given but the reference has no prediction distribution: pass referenceScores or a profile built with scores",
        { details: { field: "currentScores", rule: "reference scores required" } },
      );
    }
    if (options.currentScores.length !== current.nRows) {
      throw new InvalidParameterError(
        `currentScores.length = ${options.currentScores.length}: must equal the current frame's ${current.nRows} rows`,
        { details: { field: "currentScores", value: options.currentScores.length, rule: `length ${current.nRows}` } },
      );
    }
    if (countNaN(options.currentScores) === options.currentScores.length) {
      skipped.push({ name: "prediction", reason: "no values in current" });
    } else {
      const outcome = numericOutcome(
        profile.prediction,
        { kind: "numeric", name: "prediction", values: options.currentScores },
        mode,
        false,
      );
      columns.push(outcome.column);
      histograms.push(outcome.histogram);
    }
  }
  return {
    method: mode,
    reference_rows: profile.rows,
    current_rows: current.nRows,
    drifted_columns: columns.filter((c) => c.drift).length,
    columns,
    skipped,
    histograms,
  };
}

function countNaN(values: Float64Array): number {
  let k = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== values[i]) k++;
  return k;
}
