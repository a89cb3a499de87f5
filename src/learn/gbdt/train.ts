import type { Column } from "../../data/index.js";
import { rocAuc } from "../../stats/index.js";
import type { TreeEnsemble } from "../tree-ensemble.js";
import { applyBins, fitBins } from "./binning.js";
import type { BinnedMatrix, FeatureBins } from "./binning.js";
import { binTreeLeaf, growTree } from "./grow.js";
import type { BinTree, GrowContext } from "./grow.js";
import { RowKernels } from "./row-kernels.js";
import { resolveParams } from "./params.js";
import type { GbdtParams } from "./params.js";
import { specError } from "../../spec-fields.js";
import { rowWeights } from "../linear/train.js";

export type GbdtObjective = "binary" | "regression";

export interface GbdtTrainInput {
  /** Feature columns, in model order. */
  readonly features: readonly Column[];
  readonly nRows: number;
  /** Labels: 0/1 for binary, values for regression. */
  readonly y: Float64Array;
  readonly objective: GbdtObjective;
  readonly params?: Readonly<Record<string, unknown>>;
  /** Sample weights (finite, ≥ 0): each row's gradient and hessian are scaled by its weight. */
  readonly weights?: Float64Array;
  /** Validation rows for per-iteration metrics and early stopping (same feature order). */
  readonly valid?: { readonly features: readonly Column[]; readonly nRows: number; readonly y: Float64Array };
  /** Called after each boosting round with that round's validation metrics. */
  readonly onIteration?: (iteration: number, metrics: Readonly<Record<string, number>>) => void;
}

export interface GbdtFeature {
  readonly name: string;
  readonly kind: "numeric" | "categorical";
  /** Categorical: the model's category codes; scoring looks categories up by name. */
  readonly dictionary?: readonly string[];
}

export interface GbdtTrainResult {
  readonly ensemble: TreeEnsemble;
  readonly features: readonly GbdtFeature[];
  readonly params: GbdtParams;
  /** Per feature name: total split gain and split count over the kept trees. */
  readonly importance: { readonly gain: Record<string, number>; readonly split: Record<string, number> };
  /** Validation metric per round (`auc` for binary, `rmse` for regression), when a validation set was given. */
  readonly history: readonly Readonly<Record<string, number>>[];
  /** Rounds kept (early stopping keeps the best round's prefix). */
  readonly nTrees: number;
  readonly bestIteration: number;
}

/** mulberry32 state: small, fast, seedable; owned by one training run. */
interface Rng {
  state: number;
}

function next(rng: Rng): number {
  rng.state = (rng.state + 0x6d2b79f5) >>> 0;
  let t = rng.state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** The round's sampling key: murmur3's finaliser over seed and round (see sampleGradientRange). */
function roundKey(seed: number, round: number): number {
  let h = (Math.imul(seed, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkLabels(y: Float64Array, n: number, objective: GbdtObjective, field: string): void {
  if (y.length !== n) throw specError(`${field}.length`, y.length, `must equal the row count ${n}`);
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    if (!Number.isFinite(v)) throw specError(`${field}[${i}]`, v, "labels must be finite");
    if (objective === "binary" && v !== 0 && v !== 1)
      throw specError(`${field}[${i}]`, v, "binary labels must be 0 or 1");
  }
}

function rmse(y: Float64Array, p: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const d = (y[i] as number) - (p[i] as number);
    s += d * d;
  }
  return Math.sqrt(s / Math.max(1, y.length));
}

/** Scales the gradient and hessian of rows idx[0..m) by their weights (XGBoost's weighted loss). */
export function weightGradients(gh: Float64Array, idx: Int32Array, m: number, weights: Float64Array): void {
  for (let i = 0; i < m; i++) {
    const r = idx[i] as number;
    const w = weights[r] as number;
    gh[2 * r] = (gh[2 * r] as number) * w;
    gh[2 * r + 1] = (gh[2 * r + 1] as number) * w;
  }
}

/** Trains a histogram gradient-boosted tree ensemble. Deterministic for a given seed. */
export async function trainGbdt(input: GbdtTrainInput): Promise<GbdtTrainResult> {
  const params = resolveParams(input.params);
  const { nRows: n, y, objective } = input;
  if (n < 2) throw specError("rows", n, "need at least 2 training rows");
  if (input.features.length === 0) throw specError("features", 0, "need at least one feature column");
  checkLabels(y, n, objective, "y");
  const names = input.features.map((c) => c.name);
  const monotone = new Int8Array(names.length);
  for (const [k, v] of Object.entries(params.monotone_constraints)) {
    const f = names.indexOf(k);
    if (f < 0) throw specError(`monotone_constraints.${k}`, v, `no such feature; features are ${names.join(", ")}`);
    if (input.features[f]?.kind === "categorical")
      throw specError(`monotone_constraints.${k}`, v, "a categorical feature cannot be monotone");
    monotone[f] = v;
  }
  const specs = fitBins(input.features, params.max_bin);
  const binned = applyBins(specs, input.features, n);
  const F = specs.length;
  const gh = new Float64Array(new SharedArrayBuffer(16 * n));
  const rowSlots = new Int32Array(new SharedArrayBuffer(8 * n));
  const margin = new Float64Array(new SharedArrayBuffer(8 * n));
  const ys = new Float64Array(new SharedArrayBuffer(8 * n));
  const inSample = new Uint8Array(new SharedArrayBuffer(n));
  ys.set(y.subarray(0, n));
  const rows = new RowKernels({
    bins: binned.bins,
    binOffset: binned.binOffset,
    cols: binned.cols,
    nRows: n,
    nFeatures: F,
    gh,
    quantizedGh: new Int8Array(new SharedArrayBuffer(2 * n)),
    rowSlots,
    margin,
    y: ys,
    inSample,
    totalBins: binned.totalBins,
    maxNodes: 2 * params.num_leaves - 1,
    threads: params.threads,
  });
  try {
    const ctx: GrowContext = {
      binned,
      specs,
      gh,
      params: {
        maxDepth: params.max_depth,
        numLeaves: params.num_leaves,
        minChildWeight: params.min_child_weight,
        lambda: params.lambda,
        minSplitGain: params.min_split_gain,
        catSmooth: params.cat_smooth,
      },
      monotone,
      rows,
    };
    return boost(input, params, specs, binned, ctx, rows.idx, margin, rows);
  } finally {
    await rows.close();
  }
}

function boost(
  input: GbdtTrainInput,
  params: GbdtParams,
  specs: readonly FeatureBins[],
  binned: BinnedMatrix,
  ctx: GrowContext,
  idx: Int32Array,
  margin: Float64Array,
  rows: RowKernels,
): GbdtTrainResult {
  const { nRows: n, y, objective } = input;
  const F = specs.length;
  const weights = rowWeights(y, n, objective === "binary" ? params.scale_pos_weight : 1, input.weights);
  // The starting margin: the (weighted) mean label, as a logit for the binary objective.
  let mean = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights === null ? 1 : (weights[i] as number);
    mean += w * (y[i] as number);
    total += w;
  }
  if (!(total > 0)) throw specError("weights", total, "the sample weights must not all be 0");
  mean /= total;
  let base = mean;
  if (objective === "binary") {
    const p = Math.min(Math.max(mean, 1e-6), 1 - 1e-6);
    base = Math.log(p / (1 - p));
  }
  margin.fill(base);
  const valid = input.valid;
  let vBinned: BinnedMatrix | null = null;
  let vMargin: Float64Array | null = null;
  let vScore: Float64Array | null = null;
  if (valid) {
    checkLabels(valid.y, valid.nRows, objective, "valid.y");
    vBinned = applyBins(specs, valid.features, valid.nRows);
    vMargin = new Float64Array(valid.nRows).fill(base);
    vScore = new Float64Array(valid.nRows);
  }
  const random: Rng = { state: params.seed >>> 0 };
  const featureMask = new Uint8Array(F);
  const nCols = Math.max(1, Math.round(F * params.colsample_bytree));
  const order = new Int32Array(F);
  const trees: BinTree[] = [];
  const history: Record<string, number>[] = [];
  let best = -Infinity;
  let bestIter = -1;
  const cut = Math.min(4294967295, Math.floor(params.subsample * 4294967296));
  for (let it = 0; it < params.n_estimators; it++) {
    let m = n;
    if (params.subsample < 1) {
      m = rows.sampleAndGradients(objective === "binary", roundKey(params.seed, it), cut);
    } else {
      for (let i = 0; i < n; i++) idx[i] = i;
      rows.gradients(objective === "binary", m);
    }
    if (weights !== null) {
      weightGradients(ctx.gh, idx, m, weights);
      rows.gradientsChanged();
    }
    if (m < 2) continue;
    rows.quantize(m, roundKey(params.seed ^ 0x5bd1e995, it));
    if (nCols < F) {
      for (let f = 0; f < F; f++) order[f] = f;
      featureMask.fill(0);
      for (let k = 0; k < nCols; k++) {
        const j = k + Math.floor(next(random) * (F - k));
        const t = order[j] as number;
        order[j] = order[k] as number;
        order[k] = t;
        featureMask[t] = 1;
      }
    } else {
      featureMask.fill(1);
    }
    // With row sampling a quantised round's tree reaches the margins through the leaf map (deferTree).
    const { tree, leaves } = growTree(ctx, m, featureMask, params.learning_rate, params.subsample < 1);
    trees.push(tree);
    const insideSample = () => {
      for (const l of leaves) {
        const v = tree.value[l.node] as number;
        for (let i = l.start; i < l.end; i++) {
          const r = idx[i] as number;
          margin[r] = (margin[r] as number) + v;
        }
      }
    };
    // After a quantised round the next round's sampling pass adds this tree (see deferTree).
    if (params.subsample < 1 && rows.quantized) rows.deferTree(tree);
    else if (params.subsample < 1) rows.addTree(tree, insideSample);
    else insideSample();
    if (valid && vBinned && vMargin && vScore) {
      for (let r = 0; r < valid.nRows; r++) {
        vMargin[r] = (vMargin[r] as number) + (tree.value[binTreeLeaf(tree, vBinned, r)] as number);
      }
      let metrics: Record<string, number>;
      let score: number;
      if (objective === "binary") {
        for (let r = 0; r < valid.nRows; r++) vScore[r] = 1 / (1 + Math.exp(-(vMargin[r] as number)));
        const auc = rocAuc(valid.y, vScore);
        metrics = { auc };
        score = auc;
      } else {
        const e = rmse(valid.y, vMargin);
        metrics = { rmse: e };
        score = -e;
      }
      history.push(metrics);
      input.onIteration?.(it, metrics);
      if (score > best) {
        best = score;
        bestIter = trees.length - 1;
      } else if (params.early_stopping_rounds > 0 && trees.length - 1 - bestIter >= params.early_stopping_rounds) {
        break;
      }
    } else {
      input.onIteration?.(it, {});
    }
  }
  const kept = valid && params.early_stopping_rounds > 0 && bestIter >= 0 ? trees.slice(0, bestIter + 1) : trees;
  return {
    ensemble: toEnsemble(kept, specs, base, objective),
    features: specs.map((s) =>
      s.kind === "numeric"
        ? { name: s.name, kind: "numeric" }
        : { name: s.name, kind: "categorical", dictionary: s.dictionary },
    ),
    params,
    importance: importance(kept, specs),
    history,
    nTrees: kept.length,
    bestIteration: valid ? bestIter : kept.length - 1,
  };
}

function importance(trees: readonly BinTree[], specs: readonly FeatureBins[]): GbdtTrainResult["importance"] {
  const gain: Record<string, number> = {};
  const split: Record<string, number> = {};
  for (const s of specs) {
    gain[s.name] = 0;
    split[s.name] = 0;
  }
  for (const t of trees) {
    for (let k = 0; k < t.feature.length; k++) {
      const f = t.feature[k] as number;
      if (f < 0) continue;
      const name = (specs[f] as FeatureBins).name;
      gain[name] = (gain[name] as number) + (t.gain[k] as number);
      split[name] = (split[name] as number) + 1;
    }
  }
  return { gain, split };
}

/** Bin-space trees → the shared flat representation (numeric: `x < cut` goes left). */
function toEnsemble(
  trees: readonly BinTree[],
  specs: readonly FeatureBins[],
  base: number,
  objective: GbdtObjective,
): TreeEnsemble {
  let total = 0;
  for (const t of trees) total += t.feature.length;
  const treeOffsets = new Int32Array(trees.length + 1);
  const feature = new Int32Array(total);
  const threshold = new Float64Array(total);
  const left = new Int32Array(total);
  const right = new Int32Array(total);
  const defaultLeft = new Uint8Array(total);
  const value = new Float64Array(total);
  const cover = new Float64Array(total);
  const nodeSet = new Int32Array(total).fill(-1);
  const setOffsets: number[] = [0];
  const bits: number[] = [];
  let g = 0;
  trees.forEach((t, ti) => {
    treeOffsets[ti] = g;
    for (let k = 0; k < t.feature.length; k++, g++) {
      const f = t.feature[k] as number;
      feature[g] = f;
      value[g] = t.value[k] as number;
      cover[g] = t.cover[k] as number;
      if (f < 0) continue;
      left[g] = t.left[k] as number;
      right[g] = t.right[k] as number;
      const spec = specs[f] as FeatureBins;
      const cl = t.catLeft[k];
      if (spec.kind === "categorical" && cl) {
        // Left set = dictionary codes of the left bins; missing and unknown codes go right.
        const words = Math.max(1, Math.ceil(spec.dictionary.length / 32));
        const start = bits.length;
        for (let w = 0; w < words; w++) bits.push(0);
        for (let b = 1; b < cl.length; b++) {
          if (cl[b] !== 1) continue;
          const code = spec.binToCode[b] as number;
          bits[start + (code >>> 5)] = ((bits[start + (code >>> 5)] as number) | (1 << (code & 31))) >>> 0;
        }
        nodeSet[g] = setOffsets.length - 1;
        setOffsets.push(bits.length);
        threshold[g] = 0;
      } else if (spec.kind === "numeric") {
        threshold[g] = spec.cuts[(t.binThreshold[k] as number) - 1] as number;
        defaultLeft[g] = t.defaultLeft[k] as number;
      }
    }
  });
  treeOffsets[trees.length] = g;
  const ensemble: TreeEnsemble = {
    nFeatures: specs.length,
    treeOffsets,
    feature,
    threshold,
    left,
    right,
    defaultLeft,
    value,
    baseScore: base,
    link: objective === "binary" ? "sigmoid" : "identity",
    compare: "lt",
    cover,
  };
  if (bits.length === 0) return ensemble;
  return {
    ...ensemble,
    categorical: { nodeSet, setOffsets: Int32Array.from(setOffsets), bits: Uint32Array.from(bits) },
  };
}
