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
