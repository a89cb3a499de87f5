/**
 * A mergeable quantile sketch with a relative-error guarantee (the DDSketch construction):
 * a value v ≠ 0 falls in bucket ⌈log_γ |v|⌉ with γ = (1 + α)/(1 − α); the sketch keeps bucket
 * counts only. Any quantile it returns is within α·|true value| of the exact sample quantile
 * (rank-exact up to the bucket), and merging two sketches is adding their counts, so a sketch of
 * the union of windows equals the merge of the windows' sketches exactly.
 */
import { InvalidParameterError } from "../errors.js";

/** Default relative accuracy: quantiles within 0.5 % of the true value. */
export const SKETCH_DEFAULT_ALPHA = 0.005;
/** |v| below this counts as zero (keeps bucket indices bounded). */
const MIN_INDEXABLE = 1e-12;

export interface QuantileSketch {
  readonly alpha: number;
  readonly zeroCount: number;
  /** Bucket index → count, positive values; ascending indices. */
  readonly positive: { readonly keys: Int32Array; readonly counts: Float64Array };
  /** Bucket index of |v| → count, negative values; ascending indices. */
  readonly negative: { readonly keys: Int32Array; readonly counts: Float64Array };
}

function invLogGamma(alpha: number): number {
  return 1 / Math.log((1 + alpha) / (1 - alpha));
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) {
    throw new InvalidParameterError(`sketch alpha = ${alpha}: must lie strictly between 0 and 1`, {
      details: { field: "alpha", value: alpha, rule: "0 < alpha < 1" },
    });
  }
}

/**
 * Sketch of a sorted, NaN-free sample in one pass. Sorted input means each bucket is a run:
 * the logarithm is taken once per bucket, and values are compared against the bucket's bound.
 */
export function sketchSorted(sorted: Float64Array, alpha = SKETCH_DEFAULT_ALPHA): QuantileSketch {
  checkAlpha(alpha);
  const inv = invLogGamma(alpha);
  const gamma = (1 + alpha) / (1 - alpha);
  const pk: number[] = [];
  const pc: number[] = [];
  const nk: number[] = [];
  const nc: number[] = [];
  let zero = 0;
  const n = sorted.length;
  let i = 0;
  // Negative values, ascending = |v| descending: bucket k holds |v| in (γ^(k−1), γ^k].
  while (i < n && sorted[i]! < -MIN_INDEXABLE) {
    const k = Math.ceil(Math.log(-sorted[i]!) * inv);
    // Values clearly inside the bucket skip the logarithm; those near its bound are checked exactly.
    const safe = -Math.pow(gamma, k - 1) * (1 + 1e-12);
    let j = i + 1;
    while (j < n && sorted[j]! < -MIN_INDEXABLE && (sorted[j]! < safe || Math.ceil(Math.log(-sorted[j]!) * inv) === k))
      j++;
    nk.push(k);
    nc.push(j - i);
    i = j;
  }
  while (i < n && sorted[i]! <= MIN_INDEXABLE) {
    zero++;
    i++;
  }
  while (i < n) {
    const k = Math.ceil(Math.log(sorted[i]!) * inv);
    const upper = Math.pow(gamma, k);
    // Values clearly inside the bucket skip the logarithm; those near its bound are checked exactly.
    const safe = upper * (1 - 1e-12);
    let j = i + 1;
    while (j < n && (sorted[j]! < safe || Math.ceil(Math.log(sorted[j]!) * inv) === k)) j++;
    pk.push(k);
    pc.push(j - i);
    i = j;
  }
  nk.reverse();
  nc.reverse();
  return {
    alpha,
    zeroCount: zero,
    positive: { keys: Int32Array.from(pk), counts: Float64Array.from(pc) },
    negative: { keys: Int32Array.from(nk), counts: Float64Array.from(nc) },
  };
}

function mergeStore(
  a: { keys: Int32Array; counts: Float64Array },
  b: { keys: Int32Array; counts: Float64Array },
): { keys: Int32Array; counts: Float64Array } {
  const keys: number[] = [];
  const counts: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.keys.length || j < b.keys.length) {
    const ka = i < a.keys.length ? a.keys[i]! : Number.POSITIVE_INFINITY;
    const kb = j < b.keys.length ? b.keys[j]! : Number.POSITIVE_INFINITY;
    if (ka === kb) {
      keys.push(ka);
      counts.push(a.counts[i++]! + b.counts[j++]!);
    } else if (ka < kb) {
      keys.push(ka);
      counts.push(a.counts[i++]!);
    } else {
      keys.push(kb);
      counts.push(b.counts[j++]!);
    }
  }
  return { keys: Int32Array.from(keys), counts: Float64Array.from(counts) };
}

/** The sketch of the union of both samples. Both must share α. */
export function mergeSketches(a: QuantileSketch, b: QuantileSketch): QuantileSketch {
  if (a.alpha !== b.alpha) {
    throw new InvalidParameterError(
      `sketch alpha ${b.alpha} differs from ${a.alpha}: only equal-alpha sketches merge`,
      {
        details: { field: "alpha", value: b.alpha, rule: `equal to ${a.alpha}` },
      },
    );
  }
  return {
    alpha: a.alpha,
    zeroCount: a.zeroCount + b.zeroCount,
    positive: mergeStore(a.positive, b.positive),
    negative: mergeStore(a.negative, b.negative),
  };
}

export function sketchCount(s: QuantileSketch): number {
  let n = s.zeroCount;
  for (let i = 0; i < s.positive.counts.length; i++) n += s.positive.counts[i]!;
  for (let i = 0; i < s.negative.counts.length; i++) n += s.negative.counts[i]!;
  return n;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) as the value of rank ⌊q·(n−1)⌋: the bucket's representative
 * 2γᵏ/(γ+1), within α relative error of that order statistic. NaN for an empty sketch.
 */
export function sketchQuantile(s: QuantileSketch, q: number): number {
  const n = sketchCount(s);
  if (n === 0) return Number.NaN;
  const rank = Math.floor(Math.min(Math.max(q, 0), 1) * (n - 1));
  const gamma = (1 + s.alpha) / (1 - s.alpha);
  let seen = 0;
  for (let i = s.negative.keys.length - 1; i >= 0; i--) {
    seen += s.negative.counts[i]!;
    if (seen > rank) return (-2 * Math.pow(gamma, s.negative.keys[i]!)) / (gamma + 1);
  }
  seen += s.zeroCount;
  if (seen > rank) return 0;
  for (let i = 0; i < s.positive.keys.length; i++) {
    seen += s.positive.counts[i]!;
    if (seen > rank) return (2 * Math.pow(gamma, s.positive.keys[i]!)) / (gamma + 1);
  }
  return (2 * Math.pow(gamma, s.positive.keys[s.positive.keys.length - 1] ?? 0)) / (gamma + 1);
}
