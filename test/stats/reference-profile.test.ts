import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/index.js";
import { InvalidParameterError } from "../../src/errors.js";
import {
  buildReferenceProfile,
  displayCounts,
  ks2samp,
  mergeProfiles,
  profileFromJson,
  profileToJson,
  sketchQuantile,
} from "../../src/stats/index.js";
import type { CategoricalProfile, NumericProfile, ReferenceProfile } from "../../src/stats/index.js";

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** A frame with a continuous column (some nulls, negatives), an integer column, and a categorical. */
function frame(n: number, seed: number): Frame {
  const u = lcg(seed);
  const x = new Float64Array(n);
  const k = new Float64Array(n);
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = u() < 0.05 ? Number.NaN : (u() - 0.3) * 100 * u();
    k[i] = Math.floor(u() * 4);
    codes[i] = u() < 0.02 ? -1 : Math.floor(u() * 3);
  }
  return {
    nRows: n,
    columns: [
      { kind: "numeric", name: "x", values: x },
      { kind: "numeric", name: "k", values: k },
      { kind: "categorical", name: "c", codes, dictionary: ["a", "b", "c"] },
    ],
  };
}

function slice(f: Frame, from: number, to: number): Frame {
  return {
    nRows: to - from,
    columns: f.columns.map((c) =>
      c.kind === "numeric" ? { ...c, values: c.values.slice(from, to) } : { ...c, codes: c.codes.slice(from, to) },
    ),
  };
}

function numeric(p: ReferenceProfile, name: string): NumericProfile {
  const f = p.features.find((x) => x.name === name);
  if (f?.kind !== "numeric") throw new Error(name);
  return f;
}

describe("ReferenceProfile", () => {
  const whole = frame(30000, 1);
  const scores = Float64Array.from({ length: 30000 }, (_, i) => (i % 997) / 997);

  it("records counts, nulls, moments and exact value counts of low-cardinality columns", () => {
    const p = buildReferenceProfile(whole);
    const x = numeric(p, "x");
    const xs = Array.from((whole.columns[0] as { values: Float64Array }).values).filter((v) => !Number.isNaN(v));
    expect(x.count).toBe(xs.length);
    expect(x.nullCount).toBe(30000 - xs.length);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(x.mean).toBeCloseTo(mean, 9);
    expect(x.m2 / x.count).toBeCloseTo(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length, 6);
    expect(x.distinct).toBeNull();
    const k = numeric(p, "k");
    expect(Array.from(k.distinct!.values)).toEqual([0, 1, 2, 3]);
    expect(k.distinct!.counts.reduce((a, b) => a + b, 0)).toBe(30000);
    expect(x.psiCounts.reduce((a, b) => a + b, 0)).toBe(x.count);
    expect(x.histCounts.reduce((a, b) => a + b, 0)).toBe(x.count);
  });

  it("sortInPlace gives the same profile, its samples being the frame's own arrays", () => {
    const f = frame(30000, 5);
    const copied = buildReferenceProfile(f, { reservoirSize: Number.POSITIVE_INFINITY });
    const inPlace = buildReferenceProfile(f, { reservoirSize: Number.POSITIVE_INFINITY, sortInPlace: true });
    expect(profileToJson(inPlace)).toEqual(profileToJson(copied));
    for (const [c, name] of [
      [0, "x"],
      [1, "k"],
    ] as const) {
      const col = f.columns[c];
      if (col?.kind !== "numeric") throw new Error(name);
      expect(numeric(inPlace, name).sample.buffer, name).toBe(col.values.buffer);
      expect(numeric(copied, name).sample.buffer, name).not.toBe(col.values.buffer);
    }
  });

  it("display counts hold an underflow, the bins (the last one closed) and an overflow", () => {
    // [−∞, 0): −1; [0, 0.5): 0; [0.5, 1]: 0.5, 1, 1; (1, ∞]: 2 — counted by hand.
    const counts = displayCounts(Float64Array.of(-1, 0, 0.5, 1, 1, 2), Float64Array.of(0, 0.5, 1));
    expect(Array.from(counts)).toEqual([1, 1, 3, 1]);
  });

  it("merging two windows equals profiling all rows (counts, bins, sketch, moments)", () => {
    const all = buildReferenceProfile(whole, { scores });
    const a = buildReferenceProfile(slice(whole, 0, 12000), { binsFrom: all, scores: scores.slice(0, 12000) });
    const b = buildReferenceProfile(slice(whole, 12000, 30000), { binsFrom: all, scores: scores.slice(12000) });
    const m = mergeProfiles(a, b);
    expect(m.rows).toBe(30000);
    for (const name of ["x", "k"]) {
      const got = numeric(m, name);
      const want = numeric(all, name);
      expect(got.count).toBe(want.count);
      expect(got.nullCount).toBe(want.nullCount);
      expect(got.min).toBe(want.min);
      expect(got.max).toBe(want.max);
      expect(Array.from(got.psiCounts)).toEqual(Array.from(want.psiCounts));
      expect(Array.from(got.histCounts)).toEqual(Array.from(want.histCounts));
      expect(got.sketch).toEqual(want.sketch);
      expect(got.mean).toBeCloseTo(want.mean, 9);
      expect(got.m2 / got.count).toBeCloseTo(want.m2 / want.count, 6);
      expect(got.sample.length).toBe(Math.min(10000, want.count));
    }
    expect(numeric(m, "k").distinct).toEqual(numeric(all, "k").distinct);
    const c = m.features.find((f) => f.name === "c") as CategoricalProfile;
    const cw = all.features.find((f) => f.name === "c") as CategoricalProfile;
    expect(c.categories).toEqual(cw.categories);
    expect(Array.from(c.counts)).toEqual(Array.from(cw.counts));
    expect(c.nullCount).toBe(cw.nullCount);
    expect(m.prediction!.count).toBe(30000);
  });

  it("the merged reservoir is a uniform sample of the union", () => {
    // Window a holds values 0..9999, window b 10000..29999: a uniform sample takes 1/3 from a.
    const mk = (from: number, to: number): Frame => ({
      nRows: to - from,
      columns: [{ kind: "numeric", name: "v", values: Float64Array.from({ length: to - from }, (_, i) => from + i) }],
    });
    const all = buildReferenceProfile(mk(0, 30000), { reservoirSize: 3000 });
    const a = buildReferenceProfile(mk(0, 10000), { reservoirSize: 3000, binsFrom: all, seed: 5 });
    const b = buildReferenceProfile(mk(10000, 30000), { reservoirSize: 3000, binsFrom: all, seed: 9 });
    const s = numeric(mergeProfiles(a, b), "v").sample;
    expect(s.length).toBe(3000);
    expect(new Set(s).size).toBe(3000);
    const fromA = s.filter((v) => v < 10000).length;
    // Hypergeometric: sd ≈ 24; 1000 ± 5 sd.
    expect(Math.abs(fromA - 1000)).toBeLessThan(120);
    // And it is not distinguishable from the population by KS.
    const population = Float64Array.from({ length: 30000 }, (_, i) => i);
    expect(ks2samp(s, population).pValue).toBeGreaterThan(0.001);
  });

  it("sketch quantiles are within the stated relative error of the exact order statistics", () => {
    const p = buildReferenceProfile(whole);
    const x = numeric(p, "x");
    const xs = Float64Array.from(
      Array.from((whole.columns[0] as { values: Float64Array }).values).filter((v) => !Number.isNaN(v)),
    ).sort();
    for (const q of [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
      const exact = xs[Math.floor(q * (xs.length - 1))]!;
      const est = sketchQuantile(x.sketch, q);
      expect(Math.abs(est - exact)).toBeLessThanOrEqual(x.sketch.alpha * Math.abs(exact) + 1e-12);
    }
  });

  it("round-trips through JSON", () => {
    const p = buildReferenceProfile(whole, { scores, reservoirSize: 500 });
    const text = JSON.stringify(profileToJson(p));
    const back = profileFromJson(JSON.parse(text));
    expect(back).toEqual(p);
  });

  it("rejects malformed JSON profiles and mismatched merges with the field named", () => {
    const j = profileToJson(buildReferenceProfile(whole)) as { features: { count: unknown }[] };
    j.features[0]!.count = "many";
    expect(() => profileFromJson(j)).toThrow(InvalidParameterError);
    expect(() => profileFromJson(j)).toThrow('profile.features[0].count = "many": must be an integer, ≥ 0');
    const a = buildReferenceProfile(slice(whole, 0, 1000));
    const b = buildReferenceProfile(slice(whole, 1000, 2000));
    expect(() => mergeProfiles(a, b)).toThrow(/binsFrom/);
    expect(() => buildReferenceProfile(whole, { reservoirSize: 0 })).toThrow(/reservoirSize = 0/);
  });
});
