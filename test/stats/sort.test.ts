import { describe, expect, it } from "vitest";
import { sortFloat64 } from "../../src/stats/sort.js";

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe("sortFloat64 (radix)", () => {
  const cases: [string, (u: () => number) => number][] = [
    ["integers with ties", (u) => Math.round(u() * 500 + 300)],
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
      const expected = Array.from(a).sort((x, y) => x - y);
      const got = sortFloat64(a.slice());
      expect(Array.from(got)).toEqual(expected);
    });
  }
});
