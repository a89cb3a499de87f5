/**
 * Paired tests of two systems scored on the same examples, as scipy computes them: the exact sign
 * test (`binomtest(k, n, 0.5)`, two-sided), Wilcoxon's signed-rank test (`wilcoxon(d)`: zeros
 * dropped, average ranks for ties, exact null distribution when there are at most 50 non-zero
 * differences and no ties, else the normal approximation with the tie correction and no continuity
 * correction) and the paired t-test (`ttest_rel`). All two-sided.
 */
import { specError } from "../spec-fields.js";
import { chi2Sf, logGamma } from "./special.js";

export interface PairedTestResult {
  readonly statistic: number;
  readonly pValue: number;
}

/** Exact two-sided sign test of `wins` against `losses` (ties already left out): P under Binomial(n, 1/2). */
export function signTest(wins: number, losses: number): PairedTestResult & { readonly n: number } {
  for (const [field, v] of [
    ["wins", wins],
    ["losses", losses],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw specError(field, v, "must be a non-negative integer");
  }
  const n = wins + losses;
  if (n === 0) return { statistic: 0, pValue: 1, n };
  const k = Math.min(wins, losses);
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space.
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return { statistic: wins, pValue: Math.min(1, 2 * tail), n };
}

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** Average ranks (1-based) of `values`, and whether any two tie. */
function averageRanks(values: Float64Array): { ranks: Float64Array; ties: number[] } {
  const order = Array.from(values.keys()).sort((a, b) => (values[a] as number) - (values[b] as number));
  const ranks = new Float64Array(values.length);
  const ties: number[] = [];
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1] as number] === values[order[i] as number]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k] as number] = rank;
    if (j > i) ties.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, ties };
}

/** Counts of each signed-rank sum 0..n(n+1)/2 over the 2^n sign patterns (ranks 1..n). */
function signedRankCounts(n: number): Float64Array {
  const max = (n * (n + 1)) / 2;
  const counts = new Float64Array(max + 1);
  counts[0] = 1;
  for (let r = 1; r <= n; r++)
    for (let s = max; s >= r; s--) counts[s] = (counts[s] as number) + (counts[s - r] as number);
  return counts;
}

export interface WilcoxonResult extends PairedTestResult {
  /** Non-zero differences the test used. */
  readonly n: number;
  readonly method: "exact" | "approx";
}

/** Wilcoxon signed-rank test of the paired differences `d` (see the module comment); statistic min(R+, R−). */
export function wilcoxonSignedRank(d: ArrayLike<number>): WilcoxonResult {
  const nonZero: number[] = [];
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    if (!Number.isFinite(v)) throw specError(`differences[${i}]`, v, "must be a finite number");
    if (v !== 0) nonZero.push(v);
  }
  const n = nonZero.length;
  if (n === 0) return { statistic: 0, pValue: 1, n, method: "exact" };
  const { ranks, ties } = averageRanks(Float64Array.from(nonZero, Math.abs));
  let plus = 0;
  for (let i = 0; i < n; i++) if ((nonZero[i] as number) > 0) plus += ranks[i] as number;
  const total = (n * (n + 1)) / 2;
  const statistic = Math.min(plus, total - plus);
  if (n <= 50 && ties.length === 0) {
    const counts = signedRankCounts(n);
    let tail = 0;
    for (let s = 0; s <= statistic; s++) tail += counts[s] as number;
    return { statistic, pValue: Math.min(1, (2 * tail) / 2 ** n), n, method: "exact" };
  }
  const mean = total / 2;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - ties.reduce((a, t) => a + t ** 3 - t, 0) / 48;
  const z = (plus - mean) / Math.sqrt(variance);
  return { statistic, pValue: chi2Sf(z * z, 1), n, method: "approx" };
}

/**
 * Regularised incomplete beta I_x(a, b) by its continued fraction (modified Lentz), using the
 * symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
 */
export function betaIncomplete(a: number, b: number, x: number): number {
  if (!(a > 0 && b > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - betaIncomplete(b, a, 1 - x);
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x)) / a;
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let dd = 0;
  for (let i = 0; i <= 500; i++) {
    const m = Math.floor(i / 2);
    let num: number;
    if (i === 0) num = 1;
    else if (i % 2 === 0) num = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    else num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    dd = 1 + num * dd;
    if (Math.abs(dd) < tiny) dd = tiny;
    dd = 1 / dd;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    const step = c * dd;
    f *= step;
    if (Math.abs(1 - step) < 1e-15) break;
  }
  return front * (f - 1);
}

/** P(|T| > |t|) for Student's t with `df` degrees of freedom. */
export function studentTTwoSided(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  if (!Number.isFinite(t)) return 0;
  return betaIncomplete(df / 2, 0.5, df / (df + t * t));
}

export interface PairedTResult extends PairedTestResult {
  readonly df: number;
  readonly meanDifference: number;
}

/** Paired t-test on the differences `d` (scipy's `ttest_rel(a, b)` with d = a − b). NaN when every difference is equal. */
export function pairedTTest(d: ArrayLike<number>): PairedTResult {
  const n = d.length;
  if (n < 2) throw specError("differences", n, "needs at least two pairs");
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = d[i] as number;
    if (!Number.isFinite(v)) throw specError(`differences[${i}]`, v, "must be a finite number");
    sum += v;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((d[i] as number) - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const t = mean / (sd / Math.sqrt(n));
  return { statistic: t, pValue: studentTTwoSided(t, n - 1), df: n - 1, meanDifference: mean };
}
