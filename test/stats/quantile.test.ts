import { describe, expect, it } from "vitest";
import { histogram, histogramSorted, quantileEdges, quantileSorted, sortedFinite } from "../../src/stats/quantile.js";

describe("histograms with np.histogram semantics", () => {
  it("bins are half-open except the closed last one; values outside are not counted", () => {
    const edges = Float64Array.from([0, 1, 2]);
    const values = Float64Array.from([0, 0.5, 1, 2, 2.5, -1, Number.NaN]);
    // np.histogram([0, .5, 1, 2, 2.5, -1], [0, 1, 2]) -> [2, 2]
    expect(Array.from(histogram(values, edges))).toEqual([2, 2]);
    expect(Array.from(histogramSorted(sortedFinite(values), edges))).toEqual([2, 2]);
  });

  it("the unsorted and sorted kernels agree on tie-heavy data", () => {
    let s = 3;
    const values = Float64Array.from({ length: 5000 }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return Math.floor((s / 2147483648) * 20);
    });
    const sorted = sortedFinite(values);
    const edges = quantileEdges(sorted, 10);
    expect(Array.from(histogram(values, edges))).toEqual(Array.from(histogramSorted(sorted, edges)));
  });

  it("quantiles interpolate linearly between order statistics (np.quantile default)", () => {
    const sorted = Float64Array.from([1, 2, 4, 8]);
    // np.quantile([1, 2, 4, 8], [0, .25, .5, .9, 1]) -> [1, 1.75, 3, 6.8, 8]
    expect(quantileSorted(sorted, 0)).toBe(1);
    expect(quantileSorted(sorted, 0.25)).toBe(1.75);
    expect(quantileSorted(sorted, 0.5)).toBe(3);
    expect(quantileSorted(sorted, 0.9)).toBeCloseTo(6.8, 14);
    expect(quantileSorted(sorted, 1)).toBe(8);
  });

  it("decile edges of a constant sample collapse to one bin covering everything", () => {
    const edges = quantileEdges(Float64Array.from([5, 5, 5]), 10);
    expect(Array.from(edges)).toEqual([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]);
  });
});

describe("sortedFinite", () => {
  it("in place: the same sorted values as the copy, in the front of the input's own buffer", () => {
    let s = 11;
    const values = Float64Array.from({ length: 20_000 }, (_, i) => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return i % 13 === 0 ? Number.NaN : (s / 2147483648 - 0.5) * 1e6;
    });
    const copy = sortedFinite(values);
    // Independent: the built-in sort of the non-NaN values.
    const expected = Array.from(values)
      .filter((v) => !Number.isNaN(v))
      .sort((a, b) => a - b);
    expect(Array.from(copy)).toEqual(expected);
    const inPlace = sortedFinite(values, true);
    expect(inPlace.buffer).toBe(values.buffer);
    expect(inPlace.byteOffset).toBe(values.byteOffset);
    expect(Array.from(inPlace)).toEqual(expected);
    expect(Array.from(values.subarray(0, expected.length))).toEqual(expected);
  });
});
