/**
 * Distances between distributions: Jensen–Shannon (as `scipy.spatial.distance.jensenshannon`,
 * natural log) and Wasserstein-1 (as `scipy.stats.wasserstein_distance`).
 */
import { InvalidParameterError } from "../errors.js";
import { sortedFinite } from "./quantile.js";

function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Number.POSITIVE_INFINITY;
}

/**
 * Jensen–Shannon distance √(JS divergence) between two non-negative weight vectors over the
 * same support (normalised here). Natural log, so the value lies in [0, √ln 2].
 */
export function jensenShannon(p: Float64Array, q: Float64Array): number {
  if (p.length !== q.length || p.length === 0) {
    throw new InvalidParameterError(
      `Jensen-Shannon: vectors of length ${p.length} and ${q.length}: must be non-empty and the same length`,
      { details: { field: "q", value: q.length, rule: "same non-zero length as p" } },
    );
  }
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i]!;
    sq += q[i]!;
  }
  if (!(sp > 0) || !(sq > 0)) {
    throw new InvalidParameterError(`Jensen-Shannon: weight totals ${sp} and ${sq}: both must be positive`, {
      details: { field: sp > 0 ? "q" : "p", value: sp > 0 ? sq : sp, rule: "positive total" },
    });
  }
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i]! / sp;
    const b = q[i]! / sq;
    const m = (a + b) / 2;
    js += relEntr(a, m) + relEntr(b, m);
  }
  return Math.sqrt(js / 2);
}

/** Wasserstein-1 distance ∫|F₁ − F₂| between two sorted, NaN-free, non-empty samples. O(n₁ + n₂). */
export function wassersteinSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) {
    throw new InvalidParameterError(
      `Wasserstein: sample sizes ${n1} and ${n2}: both samples must hold at least one non-null value`,
      { details: { field: n1 === 0 ? "reference" : "current", value: 0, rule: "non-empty sample" } },
    );
  }
  let i = 0;
  let j = 0;
  let total = 0;
  let prev = Math.min(a[0]!, b[0]!);
  while (i < n1 || j < n2) {
    const va = i < n1 ? a[i]! : Number.POSITIVE_INFINITY;
    const vb = j < n2 ? b[j]! : Number.POSITIVE_INFINITY;
    const v = va < vb ? va : vb;
    // Between the previous breakpoint and v both ECDFs are flat at i/n1 and j/n2.
    total += Math.abs(i / n1 - j / n2) * (v - prev);
    prev = v;
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
  }
  return total;
}

/** Wasserstein-1 distance between two raw samples; NaN values are dropped. */
export function wasserstein(a: Float64Array, b: Float64Array): number {
  return wassersteinSorted(sortedFinite(a), sortedFinite(b));
}

/** Population standard deviation (ddof = 0, as `np.std`) of a NaN-free sample. */
export function stdPopulation(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / n);
}
