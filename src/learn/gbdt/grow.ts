import type { BinnedMatrix, FeatureBins } from "./binning.js";

/** Tree-growth settings (already validated). */
export interface GrowParams {
  readonly maxDepth: number;
  readonly numLeaves: number;
  readonly minChildWeight: number;
  readonly lambda: number;
  readonly minSplitGain: number;
  /** Added to a category's hessian when categories are ordered by gradient ratio. */
  readonly catSmooth: number;
}

/** The row-level kernels growth needs (see RowKernels). */
export interface RowWork {
  /** Whether this round's gradients are quantised: leaf values are then refit from exact sums. */
  readonly quantized: boolean;
  /** Length of a node histogram as `histogram` stores it. */
  histLength(): number;
  /** Histogram of rows `idx[start..end)` of the shared row-index array into `out[0 .. histLength())`. */
  histogram(start: number, end: number, out: Float64Array): void;
  /** A stored node histogram as gradient/hessian sums `[2*bin]`, `[2*bin+1]`, valid until the next call. */
  gradHess(stored: Float64Array): Float64Array;
  /**
   * Exact gradient/hessian sums of ranges `idx[ranges[2j] .. ranges[2j+1])` into `out[4j ..]`, and
   * each row's leaf into the row kernels' leaf map: range j is leaf `nodes[j]` when `splits[3j]` is
   * -1, else a split never partitioned (feature, `isCat << 24 | lo << 16 | tb`, right leaf; a
   * categorical mask in `masks[256j ..]`) whose left sums go first, then its right ones.
   */
  leafSums(
    ranges: Int32Array,
    nodes: Int32Array,
    splits: Int32Array,
    masks: Uint8Array,
    count: number,
    out: Float64Array,
  ): void;
  /** Stable partition of `idx[start..end)` by a split; returns the first right index. */
  partition(
    feature: number,
    start: number,
    end: number,
    isCat: boolean,
    lo: number,
    tb: number,
    catLeft: Uint8Array | null,
  ): number;
}

export interface GrowContext {
  readonly binned: BinnedMatrix;
  readonly specs: readonly FeatureBins[];
  readonly gh: Float64Array;
  readonly params: GrowParams;
  /** Per feature: +1 increasing, -1 decreasing, 0 free. */
  readonly monotone: Int8Array;
  readonly rows: RowWork;
}

/**
 * A tree in bin space, nodes numbered in creation order (root 0, children after parents).
 * Numeric split: bins 1..binThreshold go left, bin 0 (missing) follows `defaultLeft`.
 * Categorical split: bins with `catLeft[node][bin] = 1` go left; bin 0 always goes right.
 */
export interface BinTree {
  readonly feature: number[];
  readonly binThreshold: number[];
  readonly defaultLeft: number[];
  readonly catLeft: (Uint8Array | null)[];
  readonly left: number[];
  readonly right: number[];
  /** Leaf value (already multiplied by the learning rate); 0 for internal nodes. */
  readonly value: number[];
  readonly gain: number[];
  /** Hessian sum of the training rows that reached the node. */
  readonly cover: number[];
}

interface Split {
  feature: number;
  gain: number;
  binThreshold: number;
  defaultLeft: boolean;
  catLeft: Uint8Array | null;
  gl: number;
  hl: number;
  gr: number;
  hr: number;
  wl: number;
  wr: number;
}

interface Leaf {
  node: number;
  /** Rows `idx[start..end)`; for a leaf of a deferred split (see growTree), its parent's rows. */
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  lo: number;
  hi: number;
  w: number;
  hist: Float64Array | null;
  split: Split | null;
}

function clamp(w: number, lo: number, hi: number): number {
  return w < lo ? lo : w > hi ? hi : w;
}

/** Reduction of the second-order objective when the node takes weight w: -(G·w + ½(H+λ)w²). */
function objGain(g: number, h: number, lambda: number, w: number): number {
  return -(g * w + 0.5 * (h + lambda) * w * w);
}

function bestSplit(ctx: GrowContext, leaf: Leaf, featureMask: Uint8Array): Split | null {
  const { lambda, minChildWeight, minSplitGain, catSmooth } = ctx.params;
  const hist = ctx.rows.gradHess(leaf.hist as Float64Array);
  const G = leaf.g;
  const H = leaf.h;
  const parent = objGain(G, H, lambda, leaf.w);
  let best: Split | null = null;
  let bestGain = minSplitGain > 0 ? minSplitGain : 1e-12;
  const F = ctx.specs.length;
  for (let f = 0; f < F; f++) {
    if (featureMask[f] !== 1) continue;
    const spec = ctx.specs[f] as FeatureBins;
    const off = (ctx.binned.binOffset[f] as number) * 2;
    const nb = spec.nBins;
    const gm = hist[off] as number;
    const hm = hist[off + 1] as number;
    const mc = ctx.monotone[f] as number;
    if (spec.kind === "numeric") {
      let gl = 0;
      let hl = 0;
      for (let b = 1; b < nb - 1; b++) {
        gl += hist[off + 2 * b] as number;
        hl += hist[off + 2 * b + 1] as number;
        // dir 0: missing goes right; dir 1: missing goes left (skipped when there are none).
        for (let dir = 0; dir < 2; dir++) {
          if (dir === 1 && hm === 0) break;
          const GL = dir === 1 ? gl + gm : gl;
          const HL = dir === 1 ? hl + hm : hl;
          const GR = G - GL;
          const HR = H - HL;
          if (HL < minChildWeight || HR < minChildWeight || HL <= 0 || HR <= 0) continue;
          const wl = clamp(-GL / (HL + lambda), leaf.lo, leaf.hi);
          const wr = clamp(-GR / (HR + lambda), leaf.lo, leaf.hi);
          if ((mc > 0 && wl > wr) || (mc < 0 && wl < wr)) continue;
          const gain = objGain(GL, HL, lambda, wl) + objGain(GR, HR, lambda, wr) - parent;
          if (gain > bestGain) {
            bestGain = gain;
            best = {
              feature: f,
              gain,
              binThreshold: b,
              defaultLeft: dir === 1,
              catLeft: null,
              gl: GL,
              hl: HL,
              gr: GR,
              hr: HR,
              wl,
              wr,
            };
          }
        }
      }
      continue;
    }
    // Categorical: order categories by G/(H + smooth); the best left set is a prefix of that
    // order (or of its reverse). Missing and unknown categories stay right.
    const cats: number[] = [];
    for (let b = 1; b < nb; b++) if ((hist[off + 2 * b + 1] as number) > 0) cats.push(b);
    if (cats.length < 2) continue;
    const ratio = (b: number): number =>
      (hist[off + 2 * b] as number) / ((hist[off + 2 * b + 1] as number) + catSmooth);
    cats.sort((a, b) => ratio(a) - ratio(b) || a - b);
    for (let rev = 0; rev < 2; rev++) {
      let gl = 0;
      let hl = 0;
      for (let j = 0; j < cats.length - 1; j++) {
        const b = (rev === 0 ? cats[j] : cats[cats.length - 1 - j]) as number;
        gl += hist[off + 2 * b] as number;
        hl += hist[off + 2 * b + 1] as number;
        const GR = G - gl;
        const HR = H - hl;
        if (hl < minChildWeight || HR < minChildWeight || HR <= 0) continue;
        const wl = clamp(-gl / (hl + lambda), leaf.lo, leaf.hi);
        const wr = clamp(-GR / (HR + lambda), leaf.lo, leaf.hi);
        const gain = objGain(gl, hl, lambda, wl) + objGain(GR, HR, lambda, wr) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          const catLeft = new Uint8Array(nb);
          for (let k = 0; k <= j; k++) catLeft[(rev === 0 ? cats[k] : cats[cats.length - 1 - k]) as number] = 1;
          best = { feature: f, gain, binThreshold: 0, defaultLeft: false, catLeft, gl, hl, gr: GR, hr: HR, wl, wr };
        }
      }
    }
  }
  return best;
}

/** Where each training row in the sample ended: rows `idx[start..end)` are in leaf `node`. */
export interface LeafRange {
  readonly node: number;
  readonly start: number;
  readonly end: number;
}

/** A split whose two leaves are final, left unpartitioned: leafSums routes its rows. */
interface Deferred {
  readonly parent: Leaf;
  readonly split: Split;
  readonly left: Leaf;
  readonly right: Leaf;
}

/**
 * Grows one tree on rows `idx[0..n)` of the shared row-index array (sorted ascending, reordered
 * in place by the partitions), best-gain leaf
 * first, until `numLeaves` leaves or no split within `maxDepth` gains more than
 * `minSplitGain`. With `numLeaves = 2^maxDepth` this is the same tree depth-wise growth gives.
 * Monotone constraints bound each subtree's weights by the midpoint of its parent's split.
 *
 * `deferFinal` (for a quantised round whose caller takes each row's leaf from the row kernels'
 * leaf map, not from `leaves`): a split whose leaves get no histogram is not partitioned; the leaf
 * refit routes its rows in the pass it makes anyway. Those leaves' ranges in `leaves` are then
 * their parent's rows.
 */
export function growTree(
  ctx: GrowContext,
  n: number,
  featureMask: Uint8Array,
  learningRate: number,
  deferFinal = false,
): { tree: BinTree; leaves: LeafRange[] } {
  const { lambda, maxDepth, numLeaves } = ctx.params;
  const tree: BinTree = {
    feature: [],
    binThreshold: [],
    defaultLeft: [],
    catLeft: [],
    left: [],
    right: [],
    value: [],
    gain: [],
    cover: [],
  };
  const newNode = (cover: number): number => {
    tree.feature.push(-1);
    tree.binThreshold.push(0);
    tree.defaultLeft.push(0);
    tree.catLeft.push(null);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.value.push(0);
    tree.gain.push(0);
    tree.cover.push(cover);
    return tree.feature.length - 1;
  };
  const histSize = ctx.rows.histLength();
  const pool: Float64Array[] = [];
  const takeHist = (): Float64Array => pool.pop() ?? new Float64Array(histSize);

  const rootHist = takeHist();
  ctx.rows.histogram(0, n, rootHist);
  // Root sums from feature 0's bins: every row lands in exactly one bin of each feature.
  let G = 0;
  let H = 0;
  const nb0 = (ctx.specs[0] as FeatureBins).nBins;
  const rootSums = ctx.rows.gradHess(rootHist);
  for (let b = 0; b < nb0; b++) {
    G += rootSums[2 * b] as number;
    H += rootSums[2 * b + 1] as number;
  }
  const root: Leaf = {
    node: newNode(H),
    start: 0,
    end: n,
    depth: 0,
    g: G,
    h: H,
    lo: -Infinity,
    hi: Infinity,
    w: -G / (H + lambda),
    hist: rootHist,
    split: null,
  };
  const open: Leaf[] = [root];
  const done: Leaf[] = [];
  const deferred: Deferred[] = [];
  const defer = deferFinal && ctx.rows.quantized;
  if (maxDepth > 0) root.split = bestSplit(ctx, root, featureMask);
  if (!root.split && root.hist) {
    pool.push(root.hist);
    root.hist = null;
  }
  let nLeaves = 1;
  while (nLeaves < numLeaves) {
    let bi = -1;
    let bg = -Infinity;
    for (let i = 0; i < open.length; i++) {
      const s = (open[i] as Leaf).split;
      if (s && s.gain > bg) {
        bg = s.gain;
        bi = i;
      }
    }
    if (bi < 0) break;
    const leaf = open[bi] as Leaf;
    open.splice(bi, 1);
    const s = leaf.split as Split;
    // Whether the children get histograms (and so need their rows apart).
    const grows = leaf.depth + 1 < maxDepth && nLeaves + 1 < numLeaves;
    const mid =
      !grows && defer
        ? leaf.end
        : ctx.rows.partition(
            s.feature,
            leaf.start,
            leaf.end,
            s.catLeft !== null,
            s.defaultLeft ? 0 : 1,
            s.binThreshold,
            s.catLeft,
          );
    const node = leaf.node;
    tree.feature[node] = s.feature;
    tree.binThreshold[node] = s.binThreshold;
    tree.defaultLeft[node] = s.defaultLeft ? 1 : 0;
    tree.catLeft[node] = s.catLeft;
    tree.gain[node] = s.gain;
    const [L, R] = childLeaves(leaf, s, mid, ctx.monotone[s.feature] as number, newNode);
    tree.left[node] = L.node;
    tree.right[node] = R.node;
    nLeaves++;
    const parentHist = leaf.hist as Float64Array;
    leaf.hist = null;
    if (!grows && defer) {
      R.start = leaf.start;
      deferred.push({ parent: leaf, split: s, left: L, right: R });
    }
    if (grows) {
      // Histogram subtraction: build the smaller child, derive the larger from the parent.
      const small = L.end - L.start <= R.end - R.start ? L : R;
      const large = small === L ? R : L;
      const sh = takeHist();
      ctx.rows.histogram(small.start, small.end, sh);
      for (let k = 0; k < histSize; k++) parentHist[k] = (parentHist[k] as number) - (sh[k] as number);
      small.hist = sh;
      large.hist = parentHist;
      for (const c of [L, R]) {
        c.split = bestSplit(ctx, c, featureMask);
        if (!c.split) {
          pool.push(c.hist as Float64Array);
          c.hist = null;
        }
      }
    } else {
      pool.push(parentHist);
    }
    open.push(L, R);
  }
  for (const l of open) done.push(l);
  if (ctx.rows.quantized) refitLeaves(ctx, tree, done, deferred);
  const leaves: LeafRange[] = [];
  for (const l of done) {
    tree.value[l.node] = clamp(l.w, l.lo, l.hi) * learningRate;
    leaves.push({ node: l.node, start: l.start, end: l.end });
  }
  return { tree, leaves };
}

/**
 * After growth on quantised gradients: each leaf's weight and every node's cover from the exact
 * gradient sums of its rows (LightGBM's leaf renewal), so only the split choice is approximate.
 */
function refitLeaves(ctx: GrowContext, tree: BinTree, leaves: Leaf[], deferred: Deferred[]): void {
  const { lambda } = ctx.params;
  const split = new Set<Leaf>();
  for (const d of deferred) split.add(d.left).add(d.right);
  const plain = leaves.filter((l) => !split.has(l));
  const count = plain.length + deferred.length;
  const ranges = new Int32Array(2 * count);
  const nodes = new Int32Array(count);
  const splits = new Int32Array(3 * count).fill(-1);
  const masks = new Uint8Array(256 * count);
  plain.forEach((l, j) => {
    ranges[2 * j] = l.start;
    ranges[2 * j + 1] = l.end;
    nodes[j] = l.node;
  });
  deferred.forEach((d, k) => {
    const j = plain.length + k;
    const s = d.split;
    ranges[2 * j] = d.parent.start;
    ranges[2 * j + 1] = d.parent.end;
    nodes[j] = d.left.node;
    splits[3 * j] = s.feature;
    splits[3 * j + 1] = ((s.catLeft ? 1 : 0) << 24) | ((s.defaultLeft ? 0 : 1) << 16) | s.binThreshold;
    splits[3 * j + 2] = d.right.node;
    if (s.catLeft) masks.set(s.catLeft, 256 * j);
  });
  const sums = new Float64Array(4 * count);
  ctx.rows.leafSums(ranges, nodes, splits, masks, count, sums);
  const refit = (l: Leaf, g: number, h: number): void => {
    l.w = h + lambda > 0 ? -g / (h + lambda) : 0;
    tree.cover[l.node] = h;
  };
  plain.forEach((l, j) => refit(l, sums[4 * j] as number, sums[4 * j + 1] as number));
  deferred.forEach((d, k) => {
    const j = plain.length + k;
    refit(d.left, sums[4 * j] as number, sums[4 * j + 1] as number);
    refit(d.right, sums[4 * j + 2] as number, sums[4 * j + 3] as number);
  });
  // Children are numbered after their parent: a reverse sweep sums covers bottom-up.
  for (let k = tree.feature.length - 1; k >= 0; k--) {
    if ((tree.feature[k] as number) < 0) continue;
    tree.cover[k] = (tree.cover[tree.left[k] as number] as number) + (tree.cover[tree.right[k] as number] as number);
  }
}

/**
 * The two leaves a split makes, rows `[start, mid)` left and `[mid, end)` right. A monotone
 * constraint bounds each side's weights by the midpoint of the split's two weights.
 */
function childLeaves(
  leaf: Leaf,
  s: Split,
  mid: number,
  monotone: number,
  newNode: (cover: number) => number,
): [Leaf, Leaf] {
  const child = (start: number, end: number, g: number, h: number, w: number): Leaf => ({
    node: newNode(h),
    start,
    end,
    depth: leaf.depth + 1,
    g,
    h,
    lo: leaf.lo,
    hi: leaf.hi,
    w,
    hist: null,
    split: null,
  });
  const L = child(leaf.start, mid, s.gl, s.hl, s.wl);
  const R = child(mid, leaf.end, s.gr, s.hr, s.wr);
  const m = (s.wl + s.wr) / 2;
  if (monotone > 0) {
    L.hi = Math.min(L.hi, m);
    R.lo = Math.max(R.lo, m);
  } else if (monotone < 0) {
    L.lo = Math.max(L.lo, m);
    R.hi = Math.min(R.hi, m);
  }
  return [L, R];
}

/** Leaf reached by row `r` of a binned matrix. */
export function binTreeLeaf(tree: BinTree, m: BinnedMatrix, r: number): number {
  const N = m.nRows;
  let n = 0;
  let f = tree.feature[0] as number;
  while (f >= 0) {
    const b = m.cols[f * N + r] as number;
    const cl = tree.catLeft[n];
    const goLeft = cl ? cl[b] === 1 : b === 0 ? tree.defaultLeft[n] === 1 : b <= (tree.binThreshold[n] as number);
    n = (goLeft ? tree.left[n] : tree.right[n]) as number;
    f = tree.feature[n] as number;
  }
  return n;
}
