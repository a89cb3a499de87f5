/**
 * Row kernels of GBDT training that run on the calling thread and on the helper thread alike.
 * Each is self-contained (no closure, no imports): the helper thread runs this very source.
 */

/**
 * 1 when a numeric split sends local bin `bin` left (`lo` ≤ bin ≤ `tb`, see partitionRange), else 0,
 * by integer arithmetic: V8 compiles a comparison's `? 1 : 0` to a branch, which mispredicts about
 * every other row of a split, and the partition ran three times slower with it.
 */
export function leftOfNumeric(bin: number, lo: number, tb: number): number {
  return 1 + (((bin - lo) | (tb - bin)) >> 31);
}

/**
 * Stable partition of `idx[start..end)` by one feature's local bins (`cols[base + r]`): rows going
 * left are packed from `start` in `idx`, rows going right are written to `scratch[start..)`.
 * Numeric split: bins `lo`..tb go left, so bin 0 (missing) goes left when `lo` is 0 and right when
 * it is 1. Categorical split (`isCat`): `catMask[bin] === 1` goes left.
 * Returns the number of left rows. Branch-free on the numeric path: both sides are written and
 * one index advances, so there is no mispredicted branch per row.
 */
export function partitionRange(
  cols: Uint8Array,
  base: number,
  idx: Int32Array,
  scratch: Int32Array,
  start: number,
  end: number,
  isCat: number,
  lo: number,
  tb: number,
  catMask: Uint8Array,
): number {
  let nl = start;
  let nr = start;
  if (isCat === 1) {
    for (let i = start; i < end; i++) {
      const r = idx[i] as number;
      const goLeft = catMask[cols[base + r] as number] as number;
      idx[nl] = r;
      scratch[nr] = r;
      nl += goLeft;
      nr += 1 - goLeft;
    }
  } else {
    for (let i = start; i < end; i++) {
      const r = idx[i] as number;
      const goLeft = leftOfNumeric(cols[base + r] as number, lo, tb);
      idx[nl] = r;
      scratch[nr] = r;
      nl += goLeft;
      nr += 1 - goLeft;
    }
  }
  return nl - start;
}

/**
 * Gradient and hessian of the loss at the current margins for rows `idx[a..b)` into
 * `gh[2r], gh[2r+1]`. `binary` = 1: log-loss on the logit; 0: squared error. The largest |gradient|
 * and hessian go to `maxima[2 * slot]`, `maxima[2 * slot + 1]` (the quantisation scale).
 */
export function gradientRange(
  binary: number,
  margin: Float64Array,
  y: Float64Array,
  idx: Int32Array,
  a: number,
  b: number,
  gh: Float64Array,
  maxima: Float64Array,
  slot: number,
): void {
  let maxG = 0;
  let maxH = 0;
  for (let i = a; i < b; i++) {
    const r = idx[i] as number;
    let g = (margin[r] as number) - (y[r] as number);
    let h = 1;
    if (binary === 1) {
      const p = 1 / (1 + Math.exp(-(margin[r] as number)));
      g = p - (y[r] as number);
      const ph = p * (1 - p);
      h = ph > 1e-16 ? ph : 1e-16;
    }
    gh[2 * r] = g;
    gh[2 * r + 1] = h;
    const ag = g < 0 ? -g : g;
    if (ag > maxG) maxG = ag;
    if (h > maxH) maxH = h;
  }
  maxima[2 * slot] = maxG;
  maxima[2 * slot + 1] = maxH;
}

/**
 * Leaf of a packed tree (see PACKED_NODE_WORDS) reached by row r: `bins` is row-major
 * (`bins[r * nFeatures + f]`), so the whole walk reads one row's few bytes; `lut[node * 256 + bin]`
 * is 1 when the bin goes left, for numeric and categorical nodes alike. Each step is a chain of
 * loads with no data-dependent branch, where comparing with the threshold mispredicted about half
 * the time.
 */
export function packedTreeLeaf(
  bins: Uint8Array,
  nFeatures: number,
  nodes: Int32Array,
  lut: Uint8Array,
  r: number,
): number {
  let n = 0;
  let f = nodes[0] as number;
  const row = r * nFeatures;
  while (f >= 0) {
    const o = n * 3;
    const goLeft = lut[(n << 8) + (bins[row + f] as number)] as number;
    const left = nodes[o + 1] as number;
    n = left + (1 - goLeft) * ((nodes[o + 2] as number) - left);
    f = nodes[n * 3] as number;
  }
  return n;
}

/**
 * One round's pass over rows `[a, b)`: first the previous tree's leaf values, when one is pending
 * (`pending` = 1), go into `margin` — a row in that round's sample finds its leaf in `leafOf[r]`
 * (recorded by leafSumsRange); the rows that round left out, listed by its pass in
 * `dropped[a .. droppedEnd[slot])`, first walk the packed tree into `leafOf` in a loop of their own
 * (choosing per row between the two mispredicts on about one row in five). Then the Bernoulli
 * row sample fused with the gradients: row r is kept when a hash of (`key`, r) is below `cut`
 * (rate × 2^32), so each row's draw depends only on the round's key and the row, and the two
 * halves of the rows can be sampled on two threads with the same result. Kept rows are packed
 * into `idx` from `a` (ascending), `inSample[r]` = 1, and the others listed in `dropped` for the
 * next pass; the maxima of the kept rows' gradients go to `maxima[2 * slot ..]` as in gradientRange.
 * Every row gets its gradient, as the draw takes no branch (a dropped row's is never read).
 * Returns how many were kept. One sequential pass over the rows does what a scatter over the
 * leaves' row ranges and two more passes would.
 *
 * Binary: `expNegMargin[r]` holds e^(-margin) of every row, so the pass needs no exponential per
 * row: a pending tree multiplies it by its leaf's `expValues` (e^(-leaf value)). With `freshExp` = 1
 * (the first round, or after margins changed another way) it is computed from the margin instead.
 */
export function sampleGradientRange(
  binary: number,
  margin: Float64Array,
  y: Float64Array,
  gh: Float64Array,
  inSample: Uint8Array,
  idx: Int32Array,
  a: number,
  b: number,
  key: number,
  cut: number,
  pending: number,
  tree: {
    bins: Uint8Array;
    nFeatures: number;
    nodes: Int32Array;
    values: Float64Array;
    lut: Uint8Array;
    leafOf: Uint8Array | Int32Array;
    expValues: Float64Array;
    expNegMargin: Float64Array;
    dropped: Int32Array;
    droppedEnd: Int32Array;
  },
  freshExp: number,
  maxima: Float64Array,
  slot: number,
): number {
  const { bins, nFeatures, nodes, values, lut, leafOf, expValues, expNegMargin, dropped, droppedEnd } = tree;
  if (pending === 1) {
    const end = droppedEnd[slot] as number;
    for (let k = a; k < end; k++) {
      const r = dropped[k] as number;
      leafOf[r] = packedTreeLeaf(bins, nFeatures, nodes, lut, r);
    }
  }
  let m = a;
  let d = a;
  let maxG = 0;
  let maxH = 0;
  for (let r = a; r < b; r++) {
    let ev = 1;
    if (pending === 1) {
      const leaf = leafOf[r] as number;
      margin[r] = (margin[r] as number) + (values[leaf] as number);
      ev = expValues[leaf] as number;
    }
    if (binary === 1) {
      expNegMargin[r] = freshExp === 1 ? Math.exp(-(margin[r] as number)) : (expNegMargin[r] as number) * ev;
    }
    // murmur3's 32-bit finaliser: a bijection that mixes every input bit into every output bit.
    let x = (r ^ key) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    x ^= x >>> 16;
    // x < cut for uint32 x and cut, as the sign of a 32-bit difference of their halves.
    const keep = ((x >>> 1) - (cut >>> 1) - (~x & cut & 1)) >>> 31;
    inSample[r] = keep;
    idx[m] = r;
    m += keep;
    dropped[d] = r;
    d += 1 - keep;
    let g = (margin[r] as number) - (y[r] as number);
    let h = 1;
    if (binary === 1) {
      const p = 1 / (1 + (expNegMargin[r] as number));
      g = p - (y[r] as number);
      const ph = p * (1 - p);
      h = ph > 1e-16 ? ph : 1e-16;
    }
    gh[2 * r] = g;
    gh[2 * r + 1] = h;
    const ag = Math.abs(g) * keep;
    const hk = h * keep;
    if (ag > maxG) maxG = ag;
    if (hk > maxH) maxH = hk;
  }
  droppedEnd[slot] = d;
  maxima[2 * slot] = maxG;
  maxima[2 * slot + 1] = maxH;
  return m - a;
}

/** Int32 words per node of a tree packed by `packTree`: feature (-1 at a leaf), left, right. */
export const PACKED_NODE_WORDS = 3;

/**
 * Adds a packed tree's leaf values to `margin` for the rows of `[a, b)` outside the round's sample
 * (in-sample rows get theirs from the leaf ranges of the partition).
 */
export function addTreeOutsideSample(
  bins: Uint8Array,
  nFeatures: number,
  nodes: Int32Array,
  values: Float64Array,
  lut: Uint8Array,
  inSample: Uint8Array,
  margin: Float64Array,
  a: number,
  b: number,
): void {
  for (let r = a; r < b; r++) {
    if (inSample[r] !== 0) continue;
    margin[r] = (margin[r] as number) + (values[packedTreeLeaf(bins, nFeatures, nodes, lut, r)] as number);
  }
}

/**
 * Quantises the gradient and hessian of rows `idx[a..b)` (LightGBM 4's quantised training) into
 * two int8 per row: `quantized[2r]` = qg and `quantized[2r+1]` = qh, g·gInv and h·hInv rounded
 * stochastically to integers (so the rounding is unbiased), qg in [-q, q], qh in [0, q], q ≤ 127.
 * Histograms add qg·scale + qh per row (see histogram.ts), where `scale` is a power of two above
 * every node's hessian sum, so a sum splits back into exact integer gradient and hessian sums;
 * two bytes a row instead of a packed double keep more of a sparse node's rows per cache line.
 * The rounding draws hash (`key`, r), so a row's value does not depend on which thread ran it.
 */
export function quantizeRange(
  gh: Float64Array,
  idx: Int32Array,
  a: number,
  b: number,
  gInv: number,
  hInv: number,
  key: number,
  quantized: Int8Array,
): void {
  for (let i = a; i < b; i++) {
    const r = idx[i] as number;
    let x = (r ^ key) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    x ^= x >>> 16;
    quantized[2 * r] = Math.floor((gh[2 * r] as number) * gInv + (x >>> 16) / 65536);
    quantized[2 * r + 1] = Math.floor((gh[2 * r + 1] as number) * hInv + (x & 0xffff) / 65536);
  }
}

/**
 * Exact gradient and hessian sums of one half of each range's rows: range j holds rows
 * `idx[ranges[2j] .. ranges[2j+1])`; `half` 0 sums the first half, half 1 the second, into
 * `out[8j + 4·half ..]` as (g, h) of the left part then of the right part. Both halves are always
 * summed apart and added in that order, so the result does not depend on whether one thread or two
 * ran them. Each row's leaf node goes to `leafOf[r]`, for the margin update of the next round's pass.
 *
 * A range whose `splits[3j]` is -1 is one leaf, node `nodes[j]` (its sums are the left part). Any
 * other range is a node split into two leaves that was never partitioned, as growth builds no
 * histogram below it: feature `splits[3j]`, local bins of `cols[feature · nRows + r]` going left as
 * in partitionRange (`splits[3j+1]` = lo << 16 | tb, or when `isCat` the mask `masks[256j ..]`);
 * the left leaf is `nodes[j]`, the right one `splits[3j+2]`. One pass over the parent's rows then
 * does what a partition and a pass over each leaf would.
 */
export function leafSumsRange(
  gh: Float64Array,
  idx: Int32Array,
  ranges: Int32Array,
  nodes: Int32Array,
  count: number,
  half: number,
  out: Float64Array,
  leafOf: Uint8Array | Int32Array,
  cols: Uint8Array,
  nRows: number,
  splits: Int32Array,
  masks: Uint8Array,
): void {
  for (let j = 0; j < count; j++) {
    const s = ranges[2 * j] as number;
    const e = ranges[2 * j + 1] as number;
    const node = nodes[j] as number;
    const mid = s + ((e - s) >> 1);
    const a = half === 0 ? s : mid;
    const b = half === 0 ? mid : e;
    const f = splits[3 * j] as number;
    let g = 0;
    let h = 0;
    let gr = 0;
    let hr = 0;
    if (f < 0) {
      for (let i = a; i < b; i++) {
        const r = idx[i] as number;
        g += gh[2 * r] as number;
        h += gh[2 * r + 1] as number;
        leafOf[r] = node;
      }
    } else {
      const base = f * nRows;
      const rule = splits[3 * j + 1] as number;
      const right = splits[3 * j + 2] as number;
      const isCat = rule >>> 24;
      const lo = (rule >>> 16) & 0xff;
      const tb = rule & 0xffff;
      const mask = j << 8;
      for (let i = a; i < b; i++) {
        const r = idx[i] as number;
        const bin = cols[base + r] as number;
        const goLeft = isCat === 1 ? (masks[mask + bin] as number) : leftOfNumeric(bin, lo, tb);
        const gv = gh[2 * r] as number;
        const hv = gh[2 * r + 1] as number;
        // Each sum adds in the same row order as over a partitioned leaf; 0 for the other side.
        g += goLeft * gv;
        h += goLeft * hv;
        gr += (1 - goLeft) * gv;
        hr += (1 - goLeft) * hv;
        leafOf[r] = right + goLeft * (node - right);
      }
    }
    const o = 8 * j + 4 * half;
    out[o] = g;
    out[o + 1] = h;
    out[o + 2] = gr;
    out[o + 3] = hr;
  }
}
