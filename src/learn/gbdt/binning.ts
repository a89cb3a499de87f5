import type { Column, Frame } from "../../data/index.js";
import { InvalidParameterError } from "../../errors.js";

/** Bin 0 of every feature holds missing values; value bins are 1..nBins-1 (at most 255 of them). */
export const MISSING_BIN = 0;
export const MAX_VALUE_BINS = 255;

/**
 * How one feature maps to bins. Numeric: `bin = 1 + #{cuts ≤ v}`, so "bins ≤ b go left" is the
 * split `v < cuts[b-1]`. Categorical: `bin = 1 + rank` for the (up to 254) most frequent
 * categories; rarer ones share bin 0 with missing values, as unknown categories do at scoring.
 */
export type FeatureBins =
  | { readonly kind: "numeric"; readonly name: string; readonly cuts: Float64Array; readonly nBins: number }
  | {
      readonly kind: "categorical";
      readonly name: string;
      readonly dictionary: readonly string[];
      /** Per dictionary code: its bin (0 when folded into the missing bin). */
      readonly codeToBin: Int32Array;
      /** Per bin: the dictionary code (-1 for bin 0). */
      readonly binToCode: Int32Array;
      readonly nBins: number;
    };

/**
 * Features binned row-major as local bins (0..255): `bins[r * nFeatures + f]`; feature f's global
 * bin (its place in a node's flat histogram) is `binOffset[f] + bin`.
 */
export interface BinnedMatrix {
  readonly nRows: number;
  readonly nFeatures: number;
  readonly bins: Uint8Array;
  readonly binOffset: Int32Array;
  readonly totalBins: number;
  /**
   * The same bins feature-major and local (0..255): `cols[f * nRows + r]`. Partitioning a node
   * reads one feature for many rows, and one feature's column stays in cache where rows would not.
   */
  readonly cols: Uint8Array;
}

/** Deterministic sample of at most `max` row indices, evenly spread. */
function sampleRows(n: number, max: number): Int32Array {
  if (n <= max) return Int32Array.from({ length: n }, (_, i) => i);
  const out = new Int32Array(max);
  const step = n / max;
  for (let i = 0; i < max; i++) out[i] = Math.floor(i * step);
  return out;
}

const QUANTILE_SAMPLE = 200_000;

function numericBins(name: string, values: Float64Array, maxBins: number): FeatureBins {
  const sample = sampleRows(values.length, QUANTILE_SAMPLE);
  const vals = new Float64Array(sample.length);
  let m = 0;
  for (let i = 0; i < sample.length; i++) {
    const v = values[sample[i] as number] as number;
    if (v === v) vals[m++] = v;
  }
  const sorted = vals.subarray(0, m).sort();
  // Distinct values first: with few of them every value gets its own bin.
  const distinct: number[] = [];
  for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i] as number);
  const cuts: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 1; i < distinct.length; i++) cuts.push(distinct[i] as number);
  } else {
    // Quantile cuts: each is a value present in the data, so `v < cut` splits between values.
    for (let q = 1; q < maxBins; q++) {
      const c = sorted[Math.floor((q * m) / maxBins)] as number;
      if (c > (sorted[0] as number) && (cuts.length === 0 || c > (cuts[cuts.length - 1] as number))) cuts.push(c);
    }
  }
  return { kind: "numeric", name, cuts: Float64Array.from(cuts), nBins: cuts.length + 2 };
}

function categoricalBins(name: string, codes: Int32Array, dictionary: readonly string[], maxBins: number): FeatureBins {
  const counts = new Float64Array(dictionary.length);
  for (let i = 0; i < codes.length; i++) {
    const k = codes[i] as number;
    if (k >= 0) counts[k] = (counts[k] as number) + 1;
  }
  const order = Array.from({ length: dictionary.length }, (_, k) => k)
    .filter((k) => (counts[k] as number) > 0)
    .sort((a, b) => (counts[b] as number) - (counts[a] as number) || a - b)
    .slice(0, maxBins - 1)
    .sort((a, b) => a - b);
  const codeToBin = new Int32Array(dictionary.length);
  const binToCode = new Int32Array(order.length + 1).fill(-1);
  order.forEach((k, i) => {
    codeToBin[k] = i + 1;
    binToCode[i + 1] = k;
  });
  return { kind: "categorical", name, dictionary, codeToBin, binToCode, nBins: order.length + 1 };
}

/** Learns each feature's bins from training columns. */
export function fitBins(columns: readonly Column[], maxBins = MAX_VALUE_BINS): FeatureBins[] {
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_VALUE_BINS) {
    throw new InvalidParameterError(`max_bin = ${maxBins}: must be an integer in [2, ${MAX_VALUE_BINS}]`, {
      details: { field: "max_bin", value: maxBins, rule: `integer in [2, ${MAX_VALUE_BINS}]` },
    });
  }
  return columns.map((c) =>
    c.kind === "numeric"
      ? numericBins(c.name, c.values, maxBins)
      : categoricalBins(c.name, c.codes, c.dictionary, maxBins),
  );
}

/**
 * Bins of a numeric column into `bins[r * stride + f]` and `cols[base + r]`: 1 + number of cuts
 * ≤ v, 0 for NaN. The search over the cuts (padded to a power of two with NaN, which no value
 * reaches, +∞ included) takes a fixed number of steps with no data-dependent branch, where a plain
 * binary search mispredicts about every other step.
 */
function binNumeric(
  cuts: Float64Array,
  values: Float64Array,
  nRows: number,
  bins: Uint8Array,
  stride: number,
  f: number,
  cols: Uint8Array,
  base: number,
): void {
  let size = 1;
  while (size < cuts.length + 1) size <<= 1;
  const padded = new Float64Array(size).fill(NaN);
  padded.set(cuts);
  for (let r = 0; r < nRows; r++) {
    const v = values[r] as number;
    let lo = 0;
    for (let step = size >> 1; step > 0; step >>= 1) lo += (padded[lo + step - 1] as number) <= v ? step : 0;
    const b = v === v ? lo + 1 : MISSING_BIN;
    bins[r * stride + f] = b;
    cols[base + r] = b;
  }
}

/**
 * Bins the columns (same order as `specs`). A categorical column's codes are looked up by
 * category name, so a frame with a different dictionary (validation data) bins consistently.
 */
export function applyBins(specs: readonly FeatureBins[], columns: readonly Column[], nRows: number): BinnedMatrix {
  const F = specs.length;
  const bins = new Uint8Array(new SharedArrayBuffer(Math.max(1, nRows * F)));
  const binOffset = new Int32Array(F);
  let totalBins = 0;
  specs.forEach((spec, f) => {
    binOffset[f] = totalBins;
    totalBins += spec.nBins;
  });
  const cols = new Uint8Array(Math.max(1, nRows * F));
  specs.forEach((spec, f) => {
    const col = columns[f] as Column;
    const base = f * nRows;
    if (spec.kind === "numeric") {
      if (col.kind !== "numeric") throw mismatch(spec.name, "numeric", col.kind);
      binNumeric(spec.cuts, col.values, nRows, bins, F, f, cols, base);
      return;
    }
    if (col.kind !== "categorical") throw mismatch(spec.name, "categorical", col.kind);
    const lookup = new Map(spec.dictionary.map((s, k) => [s, k]));
    const map = new Int32Array(col.dictionary.length);
    col.dictionary.forEach((s, k) => {
      const code = lookup.get(s);
      map[k] = code === undefined ? MISSING_BIN : (spec.codeToBin[code] as number);
    });
    for (let r = 0; r < nRows; r++) {
      const k = col.codes[r] as number;
      const b = k < 0 ? MISSING_BIN : (map[k] as number);
      bins[r * F + f] = b;
      cols[base + r] = b;
    }
  });
  return { nRows, nFeatures: F, bins, binOffset, totalBins, cols };
}

function mismatch(name: string, want: string, got: string): InvalidParameterError {
  return new InvalidParameterError(`column ${name}: is ${got}, the model was trained on a ${want} column`, {
    details: { field: name, value: got, rule: `must be ${want}` },
  });
}

/** Column of a frame by name, or a typed error naming it. */
export function requireColumns(frame: Frame, names: readonly string[]): Column[] {
  return names.map((n) => {
    const c = frame.columns.find((x) => x.name === n);
    if (!c) {
      throw new InvalidParameterError(`column ${n}: missing from the input; the model needs it`, {
        details: { field: n, value: null, rule: "required input column" },
      });
    }
    return c;
  });
}
