import { describe, expect, it } from "vitest";
import { mergeSketches, sketchCount, sketchQuantile, sketchSorted } from "../../src/stats/sketch.js";

/** The definition: bucket ⌈log_γ |v|⌉ per value, computed value by value. */
function naiveBuckets(values: Float64Array, alpha: number): Map<string, number> {
  const inv = 1 / Math.log((1 + alpha) / (1 - alpha));
  const m = new Map<string, number>();
  for (const v of values) {
    const key = Math.abs(v) <= 1e-12 ? "0" : `${v < 0 ? "-" : "+"}${Math.ceil(Math.log(Math.abs(v)) * inv)}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe("quantile sketch", () => {
  const u = lcg(7);
  const values = Float64Array.from({ length: 50000 }, (_, i) =>
    i % 50 === 0 ? 0 : (u() < 0.3 ? -1 : 1) * Math.exp((u() - 0.5) * 30) * (i % 3 === 0 ? 1 : Math.round(u() * 10)),
  ).sort();

  it("puts every value in the bucket its definition says", () => {
    const s = sketchSorted(values, 0.01);
    const got = new Map<string, number>();
    if (s.zeroCount > 0) got.set("0", s.zeroCount);
    s.positive.keys.forEach((k, i) => got.set(`+${k}`, s.positive.counts[i]!));
    s.negative.keys.forEach((k, i) => got.set(`-${k}`, s.negative.counts[i]!));
    expect(got).toEqual(naiveBuckets(values, 0.01));
    expect(sketchCount(s)).toBe(values.length);
  });

  it("quantiles are within alpha of the exact order statistic, before and after a merge", () => {
    const half = values.filter((_, i) => i % 2 === 0);
    const other = values.filter((_, i) => i % 2 === 1);
    const merged = mergeSketches(sketchSorted(half), sketchSorted(other));
    expect(merged).toEqual(sketchSorted(values));
    for (const q of [0, 0.05, 0.2, 0.5, 0.8, 0.95, 1]) {
      const exact = values[Math.floor(q * (values.length - 1))]!;
      expect(Math.abs(sketchQuantile(merged, q) - exact)).toBeLessThanOrEqual(merged.alpha * Math.abs(exact) + 1e-12);
    }
  });

  it("rejects an alpha outside (0, 1) and merges of different alphas", () => {
    expect(() => sketchSorted(values, 1)).toThrow(/alpha = 1/);
    expect(() => mergeSketches(sketchSorted(values, 0.01), sketchSorted(values, 0.02))).toThrow(/alpha/);
  });
});
