import { MISSING_AS_ZERO, MISSING_NAN, type TreeEnsemble } from "../../src/learn/tree-ensemble.js";

/** Random ensembles and rows for the tree evaluators' tests (complete trees, binned trees). */

export function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/**
 * Random unbalanced trees: each node splits with probability `pSplit` until `maxDepth`, thresholds
 * on a coarse grid (so rows hit them exactly), random missing-value directions, a few lone leaves.
 */
export function randomEnsemble(
  seed: number,
  opts: { nTrees: number; maxDepth: number; nf: number; compare: "lt" | "le"; f32: boolean; asZero?: boolean },
): TreeEnsemble {
  const rand = lcg(seed);
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const defaultLeft: number[] = [];
  const value: number[] = [];
  const missing: number[] = [];
  const offsets = [0];
  for (let t = 0; t < opts.nTrees; t++) {
    const start = feature.length;
    // Breadth-first: children always after their parent.
    const queue: { id: number; depth: number }[] = [{ id: 0, depth: 0 }];
    let next = 1;
    const nodes: { f: number; thr: number; l: number; r: number; dl: number; v: number }[] = [];
    while (queue.length > 0) {
      const { id, depth } = queue.shift() as { id: number; depth: number };
      const split = depth < opts.maxDepth && (depth === 0 ? t % 7 !== 3 : rand() < 0.75);
      if (split) {
        const l = next++;
        const r = next++;
        nodes[id] = {
          f: Math.floor(rand() * opts.nf),
          thr: Math.round(rand() * 20) / 4 - 2.5,
          l,
          r,
          dl: rand() < 0.5 ? 1 : 0,
          v: 0,
        };
        queue.push({ id: l, depth: depth + 1 }, { id: r, depth: depth + 1 });
      } else {
        nodes[id] = { f: -1, thr: 0, l: 0, r: 0, dl: 0, v: Math.round((rand() - 0.5) * 1e6) / 1e5 };
      }
    }
    for (const n of nodes) {
      feature.push(n.f);
      threshold.push(n.thr);
      left.push(n.l);
      right.push(n.r);
      defaultLeft.push(n.dl);
      value.push(opts.f32 ? Math.fround(n.v) : n.v);
      missing.push(opts.asZero === true && rand() < 0.5 ? MISSING_AS_ZERO : MISSING_NAN);
    }
    offsets.push(start + nodes.length);
  }
  return {
    nFeatures: opts.nf,
    treeOffsets: Int32Array.from(offsets),
    feature: Int32Array.from(feature),
    threshold: opts.f32 ? Float32Array.from(threshold) : Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    defaultLeft: Uint8Array.from(defaultLeft),
    value: Float64Array.from(value),
    baseScore: 0.25,
    link: "sigmoid",
    compare: opts.compare,
    sumPrecision: opts.f32 ? "float32" : "float64",
    ...(opts.asZero === true ? { missing: Uint8Array.from(missing) } : {}),
  };
}

/** Rows on the threshold grid, off it, missing, ±∞ and −0. */
export function randomRows(seed: number, nRows: number, nf: number, f32: boolean): Float32Array | Float64Array {
  const rand = lcg(seed);
  const x = f32 ? new Float32Array(nRows * nf) : new Float64Array(nRows * nf);
  const specials = [NaN, Infinity, -Infinity, -0, 0];
  for (let i = 0; i < x.length; i++) {
    const u = rand();
    x[i] =
      u < 0.1
        ? (specials[Math.floor(rand() * specials.length)] as number)
        : u < 0.5
          ? Math.round(rand() * 20) / 4 - 2.5
          : rand() * 6 - 3;
  }
  return x;
}
