import { runInThisContext } from "node:vm";

/**
 * Histogram of rows `idx[start..end)`, zeroed first: `hist[2*bin] += g`, `hist[2*bin+1] += h`
 * from `grad[2r], grad[2r+1]`. `bin` is the feature's global bin.
 */
export type HistogramKernel = (
  bins: Uint8Array,
  grad: Float64Array,
  idx: Int32Array,
  start: number,
  end: number,
  hist: Float64Array,
) => void;

/**
 * Histogram of quantised gradients (see quantizeRange), zeroed first: `hist[bin] += qg·scale + qh`
 * from `quantized[2r], quantized[2r+1]`, one packed sum per bin. `hist` holds two copies of the
 * histogram and the sum ends in the first.
 */
export type PackedHistogramKernel = (
  bins: Uint8Array,
  quantized: Int8Array,
  idx: Int32Array,
  start: number,
  end: number,
  hist: Float64Array,
  scale: number,
) => void;

/**
 * JavaScript source of a histogram kernel for features whose global bins start at `binOffset[f]`,
 * with the per-feature loop unrolled and each offset a constant: V8 then keeps the row's gradient
 * in registers and the loop runs about twice as fast as the generic one. Row-major uint8 bins keep
 * one row's bins in one cache line. The same source runs on the calling thread and in the helper.
 *
 * The packed kernel takes two rows per step and adds the second into a second copy of the
 * histogram: a feature with few bins (a term, a count of delinquencies) otherwise adds to the same
 * bin row after row, and each add waits for the previous store. The copies are added at the end;
 * packed sums are exact integers, so the result does not depend on that order.
 */
export function histogramKernelSource(binOffset: Int32Array, packed: boolean): string {
  const F = binOffset.length;
  if (F < 1) throw new RangeError(`nFeatures = ${F}: must be ≥ 1`);
  if (packed) return packedKernelSource(binOffset);
  const body: string[] = [];
  for (let f = 0; f < F; f++) {
    const o = binOffset[f] as number;
    body.push(`k = (bins[base + ${f}] + ${o}) << 1; hist[k] += g; hist[k + 1] += h;`);
  }
  return `(function histogramKernel(bins, grad, idx, start, end, hist) {
  hist.fill(0);
  let k = 0;
  for (let i = start; i < end; i++) {
    const r = idx[i];
    const g = grad[2 * r];
    const h = grad[2 * r + 1];
    const base = r * ${F};
    ${body.join("\n    ")}
  }
})`;
}

function packedKernelSource(binOffset: Int32Array): string {
  const F = binOffset.length;
  const pair: string[] = [];
  const single: string[] = [];
  for (let f = 0; f < F; f++) {
    const o = binOffset[f] as number;
    pair.push(`hist[bins[a + ${f}] + ${o}] += u;`, `hist[bins[b + ${f}] + (${o} + copy)] += v;`);
    single.push(`hist[bins[a + ${f}] + ${o}] += u;`);
  }
  return `(function packedHistogramKernel(bins, quantized, idx, start, end, hist, scale) {
  const copy = hist.length >> 1;
  hist.fill(0);
  let i = start;
  for (; i + 1 < end; i += 2) {
    const r = idx[i];
    const s = idx[i + 1];
    const u = quantized[2 * r] * scale + quantized[2 * r + 1];
    const v = quantized[2 * s] * scale + quantized[2 * s + 1];
    const a = r * ${F};
    const b = s * ${F};
    ${pair.join("\n    ")}
  }
  if (i < end) {
    const r = idx[i];
    const u = quantized[2 * r] * scale + quantized[2 * r + 1];
    const a = r * ${F};
    ${single.join("\n    ")}
  }
  for (let k = 0; k < copy; k++) hist[k] += hist[k + copy];
})`;
}

/** Compiles the unrolled kernel in this context (the source is generated above, never user input). */
export function compileHistogramKernel(binOffset: Int32Array): HistogramKernel {
  return runInThisContext(histogramKernelSource(binOffset, false)) as HistogramKernel;
}

/** compileHistogramKernel's packed kernel, over quantised gradients. */
export function compilePackedHistogramKernel(binOffset: Int32Array): PackedHistogramKernel {
  return runInThisContext(histogramKernelSource(binOffset, true)) as PackedHistogramKernel;
}
