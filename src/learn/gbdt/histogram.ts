import { runInThisContext } from "node:vm";

/**
 * Gradient/hessian histogram of rows `idx[start..end)`: `hist[2*bin] += g`, `hist[2*bin+1] += h`
 * for each of the row's global bin ids. `hist` is zeroed first.
 */
export type HistogramKernel = (
  bins: Uint16Array,
  gh: Float64Array,
  idx: Int32Array,
  start: number,
  end: number,
  hist: Float64Array,
) => void;

/**
 * JavaScript source of the histogram kernel for `nFeatures` features, with the per-feature loop
 * unrolled: V8 then keeps g and h in registers and the loop runs about twice as fast as the
 * generic one. Row-major bins keep one row's bin ids in one cache line, and g/h are read once per
 * row. The same source runs on the calling thread and in worker threads.
 */
export function histogramKernelSource(nFeatures: number): string {
  if (!Number.isInteger(nFeatures) || nFeatures < 1)
    throw new RangeError(`nFeatures = ${nFeatures}: must be an integer ≥ 1`);
  const body: string[] = [];
  for (let f = 0; f < nFeatures; f++) {
    body.push(`k = bins[base + ${f}] << 1; hist[k] += g; hist[k + 1] += h;`);
  }
  return `(function histogramKernel(bins, gh, idx, start, end, hist) {
  hist.fill(0);
  let k = 0;
  for (let i = start; i < end; i++) {
    const r = idx[i];
    const g = gh[2 * r];
    const h = gh[2 * r + 1];
    const base = r * ${nFeatures};
    ${body.join("\n    ")}
  }
})`;
}

/** Compiles the unrolled kernel in this context (the source is generated above, never user input). */
export function compileHistogramKernel(nFeatures: number): HistogramKernel {
  return runInThisContext(histogramKernelSource(nFeatures)) as HistogramKernel;
}
