/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, as `scipy.stats.ks_2samp(a, b, method="auto")`
 * (scipy 1.10): exact p-values when both samples have at most 10,000 values, Smirnov's asymptotic
 * `kstwo.sf(d, round(n₁n₂/(n₁+n₂)))` otherwise, and the same fall-back to asymptotic when the
 * exact computation is numerically unsuccessful.
 */
import { InvalidParameterError } from "../errors.js";
import { kstwoSf, roundHalfEven } from "./special.js";
import { sortedFinite } from "./quantile.js";

export type KsMethod = "auto" | "exact" | "asymp";

export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
  /** The branch that produced the p-value. */
  readonly method: "exact" | "asymp";
}

/** scipy's MAX_AUTO_N: "auto" tries the exact distribution when both sizes are at most this. */
export const KS_MAX_EXACT_N = 10000;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/**
 * The KS statistic max |F₁ − F₂| over the merged sorted samples, each ECDF evaluated as
 * count/n exactly as scipy's `searchsorted(..., side="right") / n`. O(n₁ + n₂).
 */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxS = Number.NEGATIVE_INFINITY;
  let minS = Number.POSITIVE_INFINITY;
  while (i < n1 || j < n2) {
    // Next distinct value in the union; advance both samples past it.
    const va = i < n1 ? a[i]! : Number.POSITIVE_INFINITY;
    const vb = j < n2 ? b[j]! : Number.POSITIVE_INFINITY;
    const v = va < vb ? va : vb;
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const negMin = Math.min(Math.max(-minS, 0), 1);
  return negMin > maxS ? negMin : maxS;
}

/** Exact two-sided p-value when n₁ = n₂ (scipy `_compute_prob_outside_square`). */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/** Exact two-sided p-value for n₁ ≠ n₂ (scipy `_compute_outer_prob_inside_method`, Viehmann's recursion). */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}

/**
 * scipy `_attempt_exact_2kssamp` (two-sided). `d` comes back rounded to the lattice h/lcm(n₁, n₂);
 * `pValue` is null when the exact computation is numerically unusable.
 */
export function ksExactPValue(n1: number, n2: number, d: number): { d: number; pValue: number | null } {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const dd = h / lcm;
  if (h === 0) return { d: dd, pValue: 1 };
  const prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
  if (!Number.isFinite(prob) || !(prob >= 0 && prob <= 1)) return { d: dd, pValue: null };
  return { d: dd, pValue: prob };
}

/** Smirnov's asymptotic two-sided p-value, scipy's `kstwo.sf(d, round(en))`. */
export function ksAsymptoticPValue(n1: number, n2: number, d: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return kstwoSf(d, roundHalfEven(en));
}

/** KS test on two samples that are already sorted ascending and free of NaN. */
export function ks2sampSorted(a: Float64Array, b: Float64Array, method: KsMethod = "auto"): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) {
    throw new InvalidParameterError(
      `KS test: sample sizes ${n1} and ${n2}: both samples must hold at least one non-null value`,
      { details: { field: n1 === 0 ? "reference" : "current", value: 0, rule: "non-empty sample" } },
    );
  }
  const d = ksStatisticSorted(a, b);
  let mode: "exact" | "asymp" = method === "auto" ? (Math.max(n1, n2) <= KS_MAX_EXACT_N ? "exact" : "asymp") : method;
  if (method === "exact") {
    const g = gcd(n1, n2);
    if (n1 / g >= 2147483647 / (n2 / g)) mode = "asymp";
  }
  let stat = d;
  if (mode === "exact") {
    const exact = ksExactPValue(n1, n2, d);
    stat = exact.d;
    if (exact.pValue !== null) return { statistic: stat, pValue: exact.pValue, method: "exact" };
  }
  const p = ksAsymptoticPValue(n1, n2, stat);
  return { statistic: stat, pValue: Math.min(Math.max(p, 0), 1), method: "asymp" };
}

/** KS test on raw samples: NaN (null) values are dropped, both samples sorted. O(n log n). */
export function ks2samp(a: Float64Array, b: Float64Array, method: KsMethod = "auto"): KsResult {
  return ks2sampSorted(sortedFinite(a), sortedFinite(b), method);
}
