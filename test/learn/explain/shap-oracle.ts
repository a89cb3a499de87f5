import type { TreeEnsemble } from "../../../src/learn/tree-ensemble.js";
import { MISSING_AS_ZERO, MISSING_ZERO } from "../../../src/learn/tree-ensemble.js";

/**
 * Brute-force exact Shapley values of a tree ensemble's margin, for tests: the value of a feature
 * subset S is the path-dependent conditional expectation E[f(x) | x_S] (a split on a feature in S
 * follows the row; any other split averages its children weighted by cover), and each feature's
 * value is the Shapley-weighted sum over all 2^(M-1) subsets without it. Exponential in the
 * feature count: a handful of features only. Routing is written independently of the library,
 * from TreeEnsemble's documented rules.
 */
export function bruteForceShap(e: TreeEnsemble, row: ArrayLike<number>): Float64Array {
  const m = e.nFeatures;
  const cover = e.cover;
  if (cover === undefined) throw new Error("oracle needs covers");
  const left = (g: number): boolean => {
    const v = row[e.feature[g] as number] as number;
    const set = e.categorical?.nodeSet[g] ?? -1;
    if (set >= 0 && e.categorical) {
      const k = Math.trunc(v);
      if (Number.isNaN(k) || k < 0) return false;
      const lo = e.categorical.setOffsets[set] as number;
      const hi = e.categorical.setOffsets[set + 1] as number;
      if (k >= (hi - lo) * 32) return false;
      return ((e.categorical.bits[lo + Math.floor(k / 32)] as number) & (1 << (k % 32))) !== 0;
    }
    const mode = e.missing?.[g] ?? 0;
    const dl = e.defaultLeft[g] === 1;
    let u = v;
    if (mode === MISSING_AS_ZERO && Number.isNaN(u)) u = 0;
    if (mode === MISSING_ZERO && (Number.isNaN(u) || Math.abs(u) <= 1e-35)) return dl;
    if (Number.isNaN(u)) return dl;
    const t = e.threshold[g] as number;
    return e.compare === "le" ? u <= t : u < t;
  };
  const nTrees = e.treeOffsets.length - 1;
  const value = (mask: number): number => {
    let s = e.baseScore;
    for (let t = 0; t < nTrees; t++) {
      const start = e.treeOffsets[t] as number;
      const walk = (local: number): number => {
        const g = start + local;
        const f = e.feature[g] as number;
        if (f < 0) return e.value[g] as number;
        const l = e.left[g] as number;
        const r = e.right[g] as number;
        if ((mask >> f) & 1) return walk(left(g) ? l : r);
        const cl = cover[start + l] as number;
        const cr = cover[start + r] as number;
        return (cl * walk(l) + cr * walk(r)) / (cover[g] as number);
      };
      s += walk(0);
    }
    return s;
  };
  const v = new Float64Array(1 << m);
  for (let s = 0; s < 1 << m; s++) v[s] = value(s);
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const phi = new Float64Array(m + 1);
  for (let i = 0; i < m; i++) {
    for (let s = 0; s < 1 << m; s++) {
      if ((s >> i) & 1) continue;
      let size = 0;
      for (let b = s; b > 0; b >>= 1) size += b & 1;
      const w = (fact(size) * fact(m - size - 1)) / fact(m);
      phi[i] = (phi[i] as number) + w * ((v[s | (1 << i)] as number) - (v[s] as number));
    }
  }
  phi[m] = v[0] as number;
  return phi;
}
