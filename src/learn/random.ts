/** A seeded uniform generator on [0, 1) (mulberry32: 32-bit state, fast, reproducible across platforms). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `k` distinct indices of [0, n), drawn by a partial Fisher–Yates shuffle, in ascending order. */
export function sampleIndices(n: number, k: number, random: () => number): Int32Array {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const m = Math.min(k, n);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(random() * (n - i));
    const tmp = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = tmp;
  }
  return perm.slice(0, m).sort();
}
