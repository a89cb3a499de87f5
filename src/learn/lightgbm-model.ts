import { EnsembleBuilder } from "./ensemble-builder.js";
import { EnsemblePredictor, type EvaluatorChoice, type ModelFeature } from "./ensemble-predictor.js";
import type { ModelTask } from "./predictor.js";
import { MISSING_AS_ZERO, MISSING_NAN, MISSING_ZERO, type Link, type TreeEnsemble } from "./tree-ensemble.js";
import { inSpecFile, specError } from "../spec-fields.js";

/**
 * LightGBM text models (`Booster.save_model("m.txt")`).
 *
 * Header `key=value` lines, then one `Tree=i` block per tree. In a tree, internal nodes are
 * 0..num_leaves-2 and a child < 0 is leaf `~child`. `decision_type` bits: 1 = categorical,
 * 2 = default left, (bits >> 2) & 3 = missing type (0 None: NaN scored as 0; 1 Zero: 0 and NaN
 * are missing; 2 NaN). Numeric splits go left when `x <= threshold` (doubles); a categorical split's
 * threshold indexes `cat_boundaries`, which delimit 32-bit words of `cat_threshold`. The boosted
 * average is folded into the first tree, so there is no separate base score.
 */
const OBJECTIVES: Record<string, { task: ModelTask; link: Link }> = {
  binary: { task: "binary", link: "sigmoid" },
  cross_entropy: { task: "regression", link: "sigmoid" },
  regression: { task: "regression", link: "identity" },
  regression_l1: { task: "regression", link: "identity" },
  huber: { task: "regression", link: "identity" },
  fair: { task: "regression", link: "identity" },
  quantile: { task: "regression", link: "identity" },
  mape: { task: "regression", link: "identity" },
};

/** A number as C++ streams print it: JavaScript syntax plus `inf`, `-inf`, `nan`. */
function parseCNumber(text: string): number {
  const t = text.toLowerCase();
  if (t === "inf" || t === "+inf" || t === "infinity") return Infinity;
  if (t === "-inf" || t === "-infinity") return -Infinity;
  return t === "" ? NaN : Number(t);
}

function numbers(block: Map<string, string>, key: string, where: string, length: number): Float64Array {
  const raw = block.get(key);
  if (raw === undefined) throw specError(`${where}.${key}`, "(absent)", "is required");
  const parts = raw.trim() === "" ? [] : raw.trim().split(" ");
  if (parts.length !== length) throw specError(`${where}.${key} count`, parts.length, `must be ${length}`);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const v = parseCNumber(parts[i] ?? "");
    if (Number.isNaN(v) && parts[i] !== "nan") throw specError(`${where}.${key}[${i}]`, parts[i], "must be a number");
    out[i] = v;
  }
  return out;
}

function keyValues(lines: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq > 0) m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return m;
}

export interface LightGBMModel {
  readonly task: ModelTask;
  readonly objective: string;
  readonly features: readonly ModelFeature[];
  readonly ensemble: TreeEnsemble;
}

/** A LightGBM text model; errors say `LightGBM model: field = value: rule`. */
export function parseLightGBMText(text: string): LightGBMModel {
  return inSpecFile("LightGBM model", () => lightGBMModelOf(text));
}

function lightGBMModelOf(text: string): LightGBMModel {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== "tree")
    throw specError("first line", lines[0]?.slice(0, 40), 'a LightGBM text model starts with "tree"');
  const firstTree = lines.findIndex((l) => l.startsWith("Tree="));
  const header = keyValues(lines.slice(0, firstTree < 0 ? lines.length : firstTree));
  const perIter = Number(header.get("num_tree_per_iteration") ?? "1");
  if (perIter !== 1) throw specError("num_tree_per_iteration", perIter, "multi-class models are not supported");
  if (header.has("average_output"))
    throw specError("average_output", "set", "random-forest (averaged) models are not supported");
  const objLine = (header.get("objective") ?? "").trim().split(" ");
  const objName = objLine[0] ?? "";
  const spec = OBJECTIVES[objName];
  if (spec === undefined)
    throw specError("objective", objName, `supported objectives: ${Object.keys(OBJECTIVES).join(", ")}`);
  let sigmoidScale = 1;
  for (const opt of objLine.slice(1)) {
    if (opt.startsWith("sigmoid:")) sigmoidScale = Number(opt.slice("sigmoid:".length));
  }
  if (!(sigmoidScale > 0)) throw specError("objective sigmoid", sigmoidScale, "must be a positive number");
  const nFeatures = Number(header.get("max_feature_idx")) + 1;
  if (!Number.isInteger(nFeatures) || nFeatures < 1)
    throw specError("max_feature_idx", header.get("max_feature_idx"), "must be an integer ≥ 0");
  const names = (header.get("feature_names") ?? "").trim().split(" ");
  if (names.length !== nFeatures)
    throw specError("feature_names count", names.length, `must equal max_feature_idx + 1 (${nFeatures})`);
  // A categorical feature's info lists its categories ("-1:5:2"); a numeric one is "[min:max]" or "none".
  const infos = (header.get("feature_infos") ?? "").trim().split(" ");
  const isCat = names.map((_, j) => {
    const info = infos[j] ?? "none";
    return info !== "none" && !info.startsWith("[");
  });
  // pandas_categorical lists, in order, the category labels of each pandas-categorical column.
  const pandasLine = lines.find((l) => l.startsWith("pandas_categorical:"));
  let pandasCats: unknown = null;
  if (pandasLine !== undefined) {
    try {
      pandasCats = JSON.parse(pandasLine.slice("pandas_categorical:".length));
    } catch (e) {
      throw specError("pandas_categorical", pandasLine.slice(0, 60), `must be JSON (${(e as Error).message})`);
    }
  }
  const catFeatures = names.map((_, j) => j).filter((j) => isCat[j] === true);
  const features: ModelFeature[] = names.map((name) => ({ name }));
  // An empty list means no pandas-categorical columns (categorical features take integer codes).
  if (Array.isArray(pandasCats) && pandasCats.length > 0) {
    if (pandasCats.length !== catFeatures.length) {
      throw specError(
        "pandas_categorical length",
        pandasCats.length,
        `must equal the categorical feature count (${catFeatures.length})`,
      );
    }
    catFeatures.forEach((j, k) => {
      const labels = (pandasCats as unknown[])[k];
      if (!Array.isArray(labels))
        throw specError(`pandas_categorical[${k}]`, typeof labels, "must be a list of categories");
      features[j] = { name: names[j] ?? `f${j}`, categories: labels.map((v) => String(v)) };
    });
  }

  const builder = new EnsembleBuilder("LightGBM model");
  let nTrees = 0;
  for (let i = firstTree; i >= 0 && i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line.startsWith("end of trees")) break;
    if (!line.startsWith("Tree=")) continue;
    let end = i + 1;
    while (end < lines.length && (lines[end] ?? "").trim() !== "") end++;
    const block = keyValues(lines.slice(i + 1, end));
    const where = `Tree=${nTrees}`;
    if (block.get("is_linear") === "1") throw specError(`${where}.is_linear`, 1, "linear trees are not supported");
    const nLeaves = Number(block.get("num_leaves"));
    if (!Number.isInteger(nLeaves) || nLeaves < 1)
      throw specError(`${where}.num_leaves`, block.get("num_leaves"), "must be an integer ≥ 1");
    const nInternal = nLeaves - 1;
    const leafValue = numbers(block, "leaf_value", where, nLeaves);
    const nNodes = nInternal + nLeaves;
    const feature = new Int32Array(nNodes).fill(-1);
    const threshold = new Float64Array(nNodes);
    const left = new Int32Array(nNodes);
    const right = new Int32Array(nNodes);
    const defaultLeft = new Uint8Array(nNodes);
    const value = new Float64Array(nNodes);
    const missing = new Uint8Array(nNodes);
    const catSet = new Int32Array(nNodes).fill(-1);
    value.set(leafValue, nInternal);
    // Row counts per node: what LightGBM's own pred_contrib weighs the tree's branches by.
    // A one-leaf tree needs no weights: its expected value is its leaf.
    let cover: Float64Array | undefined = nInternal === 0 ? Float64Array.of(1) : undefined;
    if (nInternal > 0 && block.has("leaf_count") && block.has("internal_count")) {
      cover = new Float64Array(nNodes);
      cover.set(numbers(block, "internal_count", where, nInternal));
      cover.set(numbers(block, "leaf_count", where, nLeaves), nInternal);
    }
    if (nInternal > 0) {
      const splitFeature = numbers(block, "split_feature", where, nInternal);
      const thr = numbers(block, "threshold", where, nInternal);
      const decision = numbers(block, "decision_type", where, nInternal);
      const lc = numbers(block, "left_child", where, nInternal);
      const rc = numbers(block, "right_child", where, nInternal);
      const nCat = Number(block.get("num_cat") ?? "0");
      const setIds: number[] = [];
      if (nCat > 0) {
        const bounds = numbers(block, "cat_boundaries", where, nCat + 1);
        const words = numbers(block, "cat_threshold", where, bounds[nCat] ?? 0);
        for (let k = 0; k < nCat; k++) {
          setIds.push(builder.addCategorySet(words.subarray(bounds[k] ?? 0, bounds[k + 1] ?? 0)));
        }
      }
      const node = (c: number): number => (c >= 0 ? c : nInternal + ~c);
      for (let n = 0; n < nInternal; n++) {
        const f = splitFeature[n] ?? -1;
        if (!Number.isInteger(f) || f < 0 || f >= nFeatures)
          throw specError(`${where}.split_feature[${n}]`, f, `must be in [0, ${nFeatures})`);
        feature[n] = f;
        const dt = decision[n] ?? 0;
        left[n] = node(lc[n] ?? 0);
        right[n] = node(rc[n] ?? 0);
        defaultLeft[n] = dt & 2 ? 1 : 0;
        if (dt & 1) {
          const k = thr[n] ?? -1;
          const set = setIds[k];
          if (set === undefined)
            throw specError(
              `${where}.threshold[${n}]`,
              k,
              `a categorical split must index cat_boundaries (num_cat ${nCat})`,
            );
          catSet[n] = set;
        } else {
          threshold[n] = thr[n] ?? NaN;
          const mt = (dt >> 2) & 3;
          missing[n] = mt === 0 ? MISSING_AS_ZERO : mt === 1 ? MISSING_ZERO : MISSING_NAN;
        }
      }
    }
    builder.addTree(
      { root: 0, feature, threshold, left, right, defaultLeft, value, missing, catSet, ...(cover ? { cover } : {}) },
      nTrees,
    );
    nTrees++;
    i = end;
  }
  if (nTrees === 0) throw specError("trees", 0, "the model has no Tree= blocks");
  const ensemble = builder.build({
    nFeatures,
    baseScore: 0,
    link: spec.link,
    compare: "le",
    precision: "float64",
    sigmoidScale,
  });
  return { task: spec.task, objective: objName, features, ensemble };
}

export function loadLightGBMPredictor(
  text: string,
  opts: { threads?: number; evaluator?: EvaluatorChoice } = {},
): EnsemblePredictor {
  const m = parseLightGBMText(text);
  return new EnsemblePredictor({
    format: "lightgbm",
    task: m.task,
    features: m.features,
    ensemble: m.ensemble,
    inputPrecision: "float64",
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    ...(opts.evaluator === undefined ? {} : { evaluator: opts.evaluator }),
  });
}
