import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/index.js";
import { sortEachColumn, sortFloat64, sortNullsLast } from "../../src/data/sort.js";

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe("sortFloat64 (radix)", () => {
  const cases: [string, (u: () => number) => number][] = [
    ["integers with ties (few distinct values: counted)", (u) => Math.round(u() * 500 + 300)],
    ["integers with ties, more distinct values than counting takes", (u) => Math.round(u() * 100_000)],
    ["a few values of both signs and both zeros", (u) => [-3.5, -0, 0, 2, 1e-300][Math.floor(u() * 5)]!],
    ["mixed signs", (u) => (u() - 0.5) * 1e6],
    ["tiny and huge magnitudes", (u) => (u() < 0.5 ? -1 : 1) * Math.pow(10, u() * 600 - 300)],
    ["constant", () => 42],
    [
      "infinities and zeros",
      (u) => [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, 1.5, -2][Math.floor(u() * 5)]!,
    ],
  ];
  for (const [name, gen] of cases) {
    it(`orders ${name} like the numeric comparison`, () => {
      const u = lcg(name.length);
      const a = new Float64Array(20000);
      for (let i = 0; i < a.length; i++) a[i] = gen(u);
      // -0 before 0, as Float64Array's own sort orders them.
      const expected = Array.from(a.slice().sort());
      const got = sortFloat64(a.slice());
      expect(Array.from(got)).toEqual(expected);
    });
  }
});

describe("sorted already, nulls last, each column", () => {
  it("an ascending array is returned as it is; -0 still goes before 0", () => {
    const up = Float64Array.from({ length: 10_000 }, (_, i) => i * 0.5 - 100);
    expect(Array.from(sortFloat64(up.slice()))).toEqual(Array.from(up));
    const zeros = Float64Array.from({ length: 5000 }, (_, i) => (i % 2 === 0 ? 0 : -0));
    const sorted = sortFloat64(zeros);
    expect(Object.is(sorted[0], -0)).toBe(true);
    expect(Object.is(sorted[2499], -0)).toBe(true);
    expect(Object.is(sorted[2500], 0)).toBe(true);
  });

  it("sortNullsLast: the non-NaN values sorted in front, their count returned, NaN after", () => {
    const u = lcg(7);
    const a = Float64Array.from({ length: 20_000 }, (_, i) => (i % 9 === 0 ? Number.NaN : u() * 1000 - 500));
    const expected = Array.from(a)
      .filter((v) => !Number.isNaN(v))
      .sort((x, y) => x - y);
    const n = sortNullsLast(a);
    expect(n).toBe(expected.length);
    expect(Array.from(a.subarray(0, n))).toEqual(expected);
    expect(Array.from(a.subarray(n)).every((v) => Number.isNaN(v))).toBe(true);
  });

  it("sortEachColumn sorts numeric columns and their null masks, not categorical ones", () => {
    const values = Float64Array.from([3, Number.NaN, 1, 2, Number.NaN]);
    const frame: Frame = {
      nRows: 5,
      columns: [
        { kind: "numeric", name: "x", values, valid: Uint8Array.from([1, 0, 1, 1, 0]) },
        { kind: "categorical", name: "c", codes: Int32Array.from([1, 0, -1, 1, 0]), dictionary: ["a", "b"] },
      ],
    };
    sortEachColumn(frame);
    const [x, c] = frame.columns;
    if (x?.kind !== "numeric" || c?.kind !== "categorical") throw new Error("kinds");
    expect(Array.from(x.values)).toEqual([1, 2, 3, Number.NaN, Number.NaN]);
    expect(Array.from(x.valid ?? [])).toEqual([1, 1, 1, 0, 0]);
    expect(Array.from(c.codes)).toEqual([1, 0, -1, 1, 0]);
  });
});
