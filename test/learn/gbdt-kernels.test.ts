import { describe, expect, it } from "vitest";
import { numericColumn } from "../../src/data/index.js";
import { applyBins, fitBins } from "../../src/learn/gbdt/binning.js";
import { compilePackedHistogramKernel } from "../../src/learn/gbdt/histogram.js";
import {
  PACKED_NODE_WORDS,
  leafSumsRange,
  leftOfNumeric,
  partitionRange,
  sampleGradientRange,
} from "../../src/learn/gbdt/kernels.js";
import { uniform } from "./uniform.js";

describe("numeric split sides", () => {
  it("sends bin lo..tb left, every other bin right, for every bin, threshold and missing side", () => {
    const wrong: string[] = [];
    for (const lo of [0, 1])
      for (let tb = 0; tb < 256; tb++)
        for (let bin = 0; bin < 256; bin++)
          if (leftOfNumeric(bin, lo, tb) !== (bin >= lo && bin <= tb ? 1 : 0)) wrong.push(`${lo} ${tb} ${bin}`);
    expect(wrong).toEqual([]);
  });

  it("partitions stably: left rows first, then right rows, each in their order", () => {
    const n = 1_000;
    const r = uniform(5);
    const cols = Uint8Array.from({ length: n }, () => Math.floor(r() * 12));
    const rows = Int32Array.from({ length: n }, (_, i) => (i * 37) % n);
    const idx = rows.slice();
    const scratch = new Int32Array(n);
    const nl = partitionRange(cols, 0, idx, scratch, 0, n, 0, 1, 6, new Uint8Array(256));
    const left = [...rows].filter((row) => (cols[row] as number) >= 1 && (cols[row] as number) <= 6);
    const right = [...rows].filter((row) => !left.includes(row));
    expect(Array.from(idx.subarray(0, nl))).toEqual(left);
    expect(Array.from(scratch.subarray(0, n - nl))).toEqual(right);
  });
});

describe("applyBins", () => {
  const r = uniform(21);
  const n = 5_000;
  const train = Float64Array.from({ length: n }, () => Math.round(r() * 1000) / 10);
  const specs = fitBins([numericColumn("x", train)], 64);
  const spec = specs[0];
  if (spec?.kind !== "numeric") throw new Error("expected a numeric feature");
  const cuts = spec.cuts;
  // Values on the cuts, between them, beyond both ends, infinite and missing.
  const probe = [...cuts, ...cuts.map((c) => c - 0.05), -1e9, 1e9, -Infinity, Infinity, NaN, 0, 100];
  const binned = applyBins(specs, [numericColumn("x", Float64Array.from(probe))], probe.length);

  it("puts each value in bin 1 + number of cuts ≤ value (0 when missing), in both layouts", () => {
    const want = probe.map((v) => (Number.isNaN(v) ? 0 : 1 + cuts.filter((c) => c <= v).length));
    expect(Array.from(binned.bins)).toEqual(want);
    expect(Array.from(binned.cols)).toEqual(want);
  });
});

describe("packed histogram kernel", () => {
  const r = uniform(33);
  const F = 3;
  const nBins = [5, 2, 40];
  const binOffset = Int32Array.from([0, 5, 7]);
  const totalBins = 47;
  const n = 1_001;
  const bins = new Uint8Array(n * F);
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) bins[i * F + f] = Math.floor(r() * (nBins[f] as number));
  const scale = 4096;
  const quantized = new Int8Array(2 * n);
  for (let i = 0; i < n; i++) {
    quantized[2 * i] = Math.floor(r() * 254 - 127);
    quantized[2 * i + 1] = Math.floor(r() * 128);
  }
  const kernel = compilePackedHistogramKernel(binOffset);

  for (const [start, end] of [
    [0, n],
    [3, 500],
    [10, 11],
    [7, 7],
  ] as const) {
    it(`sums rows ${start}..${end} of a row subset exactly as one loop does`, () => {
      const idx = Int32Array.from({ length: n }, (_, i) => (i * 7) % n);
      const hist = new Float64Array(2 * totalBins).fill(123);
      kernel(bins, quantized, idx, start, end, hist, scale);
      const want = new Float64Array(totalBins);
      for (let i = start; i < end; i++) {
        const row = idx[i] as number;
        for (let f = 0; f < F; f++) {
          const k = (binOffset[f] as number) + (bins[row * F + f] as number);
          const packed = (quantized[2 * row] as number) * scale + (quantized[2 * row + 1] as number);
          want[k] = (want[k] as number) + packed;
        }
      }
      expect(Array.from(hist.subarray(0, totalBins))).toEqual(Array.from(want));
    });
  }
});

describe("sampleGradientRange with a pending tree", () => {
  // A stump on feature 0 of one: bins 1..2 go left (node 1), the rest and missing go right (node 2).
  const n = 2_000;
  const r = uniform(5);
  const cols = Uint8Array.from({ length: n }, () => Math.floor(r() * 5));
  const nodes = new Int32Array(3 * PACKED_NODE_WORDS).fill(-1);
  nodes.set([0, 1, 2], 0);
  const lut = new Uint8Array(3 * 256);
  lut[1] = 1;
  lut[2] = 1;
  const values = Float64Array.from([0, -0.5, 0.25]);
  const leafOfRow = (row: number): number => ((cols[row] as number) >= 1 && (cols[row] as number) <= 2 ? 1 : 2);
  // The previous round's sample: every third row, with its leaf recorded as leafSumsRange does;
  // the other rows as that round's pass listed them, a stale leaf in leafOf.
  const inSample = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const leafOf = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? leafOfRow(i) : 7));
  const dropped = new Int32Array(n);
  let listed = 0;
  for (let i = 0; i < n; i++) if (i % 3 !== 0) dropped[listed++] = i;
  const droppedEnd = Int32Array.of(listed, 0);
  const margin0 = Float64Array.from({ length: n }, () => r() * 2 - 1);
  const y = Float64Array.from({ length: n }, () => (r() < 0.4 ? 1 : 0));
  const margin = margin0.slice();
  const gh = new Float64Array(2 * n);
  const idx = new Int32Array(n);
  const maxima = new Float64Array(4);
  // e^(-margin) as the previous pass left it: this pass updates it by e^(-leaf value), no exponential per row.
  const expNegMargin = margin0.map((v) => Math.exp(-v));
  const expValues = values.map((v) => Math.exp(-v));
  const tree = { bins: cols, nFeatures: 1, nodes, values, lut, leafOf, expValues, expNegMargin, dropped, droppedEnd };
  const cut = Math.floor(0.6 * 4294967296);
  const m = sampleGradientRange(1, margin, y, gh, inSample, idx, 0, n, 99, cut, 1, tree, 0, maxima, 0);

  it("adds the tree's leaf value to every row's margin, sampled last round or not", () => {
    const bad: number[] = [];
    for (let i = 0; i < n; i++) {
      if (margin[i] !== (margin0[i] as number) + (values[leafOfRow(i)] as number)) bad.push(i);
    }
    expect(bad).toEqual([]);
    for (let i = 0; i < n; i++) {
      if (Math.abs((expNegMargin[i] as number) / Math.exp(-(margin[i] as number)) - 1) > 1e-14) bad.push(i);
    }
    expect(bad).toEqual([]);
  });

  it("keeps about the rate's share of rows, ascending, with log-loss gradients at the new margins", () => {
    expect(m).toBeGreaterThan(0.55 * n);
    expect(m).toBeLessThan(0.65 * n);
    let maxG = 0;
    let maxH = 0;
    for (let k = 0; k < m; k++) {
      const row = idx[k] as number;
      if (k > 0) expect(row).toBeGreaterThan(idx[k - 1] as number);
      expect(inSample[row]).toBe(1);
      const p = 1 / (1 + Math.exp(-(margin[row] as number)));
      expect(gh[2 * row]).toBeCloseTo(p - (y[row] as number), 12);
      expect(gh[2 * row + 1]).toBeCloseTo(p * (1 - p), 12);
      maxG = Math.max(maxG, Math.abs(p - (y[row] as number)));
      maxH = Math.max(maxH, p * (1 - p));
    }
    expect(maxima[0]).toBeCloseTo(maxG, 12);
    expect(maxima[1]).toBeCloseTo(maxH, 12);
    let kept = 0;
    for (let i = 0; i < n; i++) kept += inSample[i] as number;
    expect(kept).toBe(m);
  });

  it("draws each row by the murmur3 finaliser of row ^ key against the cut, and lists the rest for the next pass", () => {
    const draw = (row: number): boolean => {
      let x = (row ^ 99) >>> 0;
      x = (x ^ (x >>> 16)) >>> 0;
      x = Number((BigInt(x) * 0x85ebca6bn) % 2n ** 32n);
      x = (x ^ (x >>> 13)) >>> 0;
      x = Number((BigInt(x) * 0xc2b2ae35n) % 2n ** 32n);
      x = (x ^ (x >>> 16)) >>> 0;
      return x < cut;
    };
    const keptRows: number[] = [];
    const left: number[] = [];
    for (let i = 0; i < n; i++) (draw(i) ? keptRows : left).push(i);
    expect(Array.from(idx.subarray(0, m))).toEqual(keptRows);
    expect(droppedEnd[0]).toBe(left.length);
    expect(Array.from(dropped.subarray(0, left.length))).toEqual(left);
  });

  it("compares the draw with the cut as unsigned 32-bit numbers at the extremes", () => {
    // cut 0 keeps no row; cut 2^32 − 1 keeps every row whose hash is below it (all of these).
    for (const [c, want] of [
      [0, 0],
      [4294967295, n],
    ] as const) {
      const t = { ...tree, dropped: new Int32Array(n), droppedEnd: new Int32Array(2) };
      const kept = sampleGradientRange(
        1,
        margin.slice(),
        y,
        gh.slice(),
        inSample.slice(),
        idx.slice(),
        0,
        n,
        99,
        c,
        0,
        t,
        1,
        maxima.slice(),
        0,
      );
      expect(kept).toBe(want);
      expect(t.droppedEnd[0]).toBe(n - want);
    }
  });
});

describe("leafSumsRange", () => {
  const r = uniform(47);
  const nRows = 2_000;
  // Two features, feature-major: a numeric one with missing bins and a categorical one.
  const cols = Uint8Array.from({ length: 2 * nRows }, (_, i) =>
    i < nRows ? (r() < 0.1 ? 0 : 1 + Math.floor(r() * 30)) : Math.floor(r() * 6),
  );
  const gh = Float64Array.from({ length: 2 * nRows }, (_, i) => (i % 2 === 0 ? r() * 2 - 1 : r() * 0.25));
  const idx = Int32Array.from({ length: 1_500 }, (_, i) => Math.floor(i * 1.3));
  // Range 0: leaf 3, rows idx[0..400). Range 1: numeric split of idx[400..1000) (bins 1..12 and
  // missing left), leaves 5 and 6. Range 2: categorical split of idx[1000..1500) ({1, 4} left), 7 and 8.
  const ranges = Int32Array.from([0, 400, 400, 1000, 1000, 1500]);
  const nodes = Int32Array.from([3, 5, 7]);
  const splits = Int32Array.from([-1, 0, 0, 0, (0 << 16) | 12, 6, 1, (1 << 24) | (1 << 16), 8]);
  const masks = new Uint8Array(3 * 256);
  masks[2 * 256 + 1] = 1;
  masks[2 * 256 + 4] = 1;
  const goesLeft = (j: number, row: number): boolean => {
    if (j === 0) return true;
    if (j === 1) return (cols[row] as number) <= 12;
    const c = cols[nRows + row] as number;
    return c === 1 || c === 4;
  };

  it("sums each range, or each side of its split, over both halves and records every row's leaf", () => {
    const out = new Float64Array(8 * 3);
    const leafOf = new Uint8Array(nRows);
    for (const half of [0, 1]) leafSumsRange(gh, idx, ranges, nodes, 3, half, out, leafOf, cols, nRows, splits, masks);
    for (let j = 0; j < 3; j++) {
      const want = [0, 0, 0, 0];
      for (let i = ranges[2 * j] as number; i < (ranges[2 * j + 1] as number); i++) {
        const row = idx[i] as number;
        const left = goesLeft(j, row);
        want[left ? 0 : 2] = (want[left ? 0 : 2] as number) + (gh[2 * row] as number);
        want[left ? 1 : 3] = (want[left ? 1 : 3] as number) + (gh[2 * row + 1] as number);
        const leaf = left ? nodes[j] : splits[3 * j + 2];
        expect(leafOf[row]).toBe(leaf);
      }
      for (let k = 0; k < 4; k++)
        expect((out[8 * j + k] as number) + (out[8 * j + 4 + k] as number)).toBeCloseTo(want[k] as number, 12);
    }
    // The numeric split's range holds missing rows, which its rule sends left.
    expect(idx.subarray(400, 1000).some((row) => cols[row] === 0)).toBe(true);
  });
});
