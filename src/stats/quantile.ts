/**
 * Quantile and histogram helpers on sorted Float64Arrays, with numpy's conventions
 * (`np.quantile` "linear", `np.histogram` half-open bins with a closed last bin) so that
 * keel's PSI reproduces the numpy computation bin for bin.
 */
import { sortFloat64, sortNullsLast } from "../data/index.js";

/**
 * The non-NaN values of `values`, sorted ascending: in a new array, or with `inPlace` in the front
 * of `values` itself (returned as a view of it, the NaNs moved after it), for a caller done with
 * the row order — a large column is then never copied.
 */
export function sortedFinite(values: Float64Array, inPlace = false): Float64Array {
  if (inPlace) return values.subarray(0, sortNullsLast(values));
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === values[i]) n++;
  const out = new Float64Array(n);
  if (n === values.length) out.set(values);
  else {
    let k = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v === v) out[k++] = v;
    }
  }
  return sortFloat64(out);
}

/** Number of elements of `sorted` strictly below `v`. */
export function countBelow(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of elements of `sorted` at or below `v`. */
export function countAtOrBelow(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** numpy's `_lerp`: a + (b−a)t, computed from the b side when t ≥ 0.5 (monotone, exact at the ends). */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Quantile q ∈ [0, 1] of a sorted non-empty sample, as `np.quantile(x, q)` (method "linear"). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const vi = (n - 1) * q;
  if (vi >= n - 1) return sorted[n - 1]!;
  if (vi < 0) return sorted[0]!;
  const lo = Math.floor(vi);
  return lerp(sorted[lo]!, sorted[lo + 1]!, vi - lo);
}

/** The `bins + 1` evenly spaced probabilities `np.linspace(0, 1, bins + 1)` produces. */
export function linspaceProbabilities(bins: number): Float64Array {
  const out = new Float64Array(bins + 1);
  const step = 1 / bins;
  for (let i = 0; i < bins; i++) out[i] = i * step;
  out[bins] = 1;
  return out;
}

/**
 * Bin edges at the reference quantiles, de-duplicated (`np.unique`) and with the outer edges
 * opened to ±∞, so every value of any later sample falls in some bin.
 */
export function quantileEdges(sorted: Float64Array, bins: number): Float64Array {
  const probs = linspaceProbabilities(bins);
  const raw = new Float64Array(probs.length);
  for (let i = 0; i < probs.length; i++) raw[i] = quantileSorted(sorted, probs[i]!);
  raw.sort();
  let k = 0;
  for (let i = 0; i < raw.length; i++) if (i === 0 || raw[i] !== raw[k - 1]) raw[k++] = raw[i]!;
  // A constant sample has one distinct edge: keep a single bin covering everything.
  const edges = raw.slice(0, Math.max(k, 2));
  edges[0] = Number.NEGATIVE_INFINITY;
  edges[edges.length - 1] = Number.POSITIVE_INFINITY;
  return edges;
}

/**
 * Counts of a sorted sample in the bins [e₀, e₁), [e₁, e₂), …, [e_{k−1}, e_k] — `np.histogram`
 * semantics; O(k log n) by binary search. Values outside [e₀, e_k] are not counted.
 */
export function histogramSorted(sorted: Float64Array, edges: Float64Array, out?: Float64Array): Float64Array {
  const k = edges.length - 1;
  const counts = out ?? new Float64Array(Math.max(k, 0));
  if (k < 1) return counts;
  let prev = countBelow(sorted, edges[0]!);
  for (let i = 0; i < k; i++) {
    const next = i === k - 1 ? countAtOrBelow(sorted, edges[k]!) : countBelow(sorted, edges[i + 1]!);
    counts[i] = next - prev;
    prev = next;
  }
  return counts;
}

/**
 * Counts of an unsorted sample in the same bins, by binary search per value: O(n log k).
 * NaN values are skipped.
 */
export function histogram(values: Float64Array, edges: Float64Array, out?: Float64Array): Float64Array {
  const k = edges.length - 1;
  const counts = out ?? new Float64Array(Math.max(k, 0));
  if (k < 1) return counts;
  const first = edges[0]!;
  const last = edges[k]!;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= first && v <= last)) continue;
    // Largest bin index b with edges[b] ≤ v, capped at k−1 so v = last lands in the closed last bin.
    let lo = 0;
    let hi = k;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (edges[mid]! <= v) lo = mid;
      else hi = mid - 1;
    }
    counts[lo < k ? lo : k - 1]! += 1;
  }
  return counts;
}
