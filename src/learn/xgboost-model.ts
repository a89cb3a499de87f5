import { EnsembleBuilder } from "./ensemble-builder.js";
import { EnsemblePredictor, type EvaluatorChoice, type ModelFeature } from "./ensemble-predictor.js";
import type { ModelTask } from "./predictor.js";
import type { Link, TreeEnsemble } from "./tree-ensemble.js";
import { inSpecFile, specError } from "../spec-fields.js";

/**
 * XGBoost JSON models (`Booster.save_model("m.json")`, schema doc/model.schema in XGBoost).
 *
 * - Leaf values live in `split_conditions` of leaf nodes (already scaled by the learning rate).
 * - A row goes left when `x < split_condition`, both as float32; NaN takes `default_left`.
 * - `learner_model_param.base_score` is stored in the objective's output space (a probability for
 *   `binary:logistic`) in every version, as a string: "5E-1" (1.x, 2.x) or "[5E-1]" (3.x, one per
 *   target). XGBoost turns it into a margin with the objective's ProbToMargin (logit for logistic),
 *   rounded to float32, and sums leaves onto it.
 */
const OBJECTIVES: Record<string, { task: ModelTask; link: Link }> = {
  "binary:logistic": { task: "binary", link: "sigmoid" },
  "reg:logistic": { task: "regression", link: "sigmoid" },
  "reg:squarederror": { task: "regression", link: "identity" },
  "reg:linear": { task: "regression", link: "identity" },
  "reg:absoluteerror": { task: "regression", link: "identity" },
  "reg:pseudohubererror": { task: "regression", link: "identity" },
};

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw specError(field, typeof v, "must be a JSON object");
  return v as Record<string, unknown>;
}

function numArray(v: unknown, field: string, length: number): number[] {
  if (!Array.isArray(v)) throw specError(field, typeof v, "must be an array");
  const arr = v as unknown[];
  if (arr.length !== length) throw specError(`${field}.length`, arr.length, `must equal num_nodes (${length})`);
  return arr.map((x, i) => {
    if (typeof x === "boolean") return x ? 1 : 0;
    if (typeof x !== "number") throw specError(`${field}[${i}]`, x, "must be a number");
    return x;
  });
}

/** Parses "5E-1", "[5E-1]" or a number. */
function parseBaseScore(v: unknown): number {
  const s = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : undefined;
  if (s === undefined)
    throw specError("learner.learner_model_param.base_score", v, "must be a number or numeric string");
  const inner = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1).split(",") : [s];
  if (inner.length !== 1)
    throw specError("learner.learner_model_param.base_score", v, "only single-target models are supported");
  const x = Number(inner[0]);
  if (!Number.isFinite(x)) throw specError("learner.learner_model_param.base_score", v, "must be a finite number");
  return x;
}

export interface XGBoostModel {
  readonly task: ModelTask;
  readonly objective: string;
  readonly features: readonly ModelFeature[];
  readonly ensemble: TreeEnsemble;
  readonly version: readonly number[];
}

/** An XGBoost JSON model; errors say `XGBoost model: field = value: rule`. */
export function parseXGBoostJson(json: unknown): XGBoostModel {
  return inSpecFile("XGBoost model", () => xgboostModelOf(json));
}

function xgboostModelOf(json: unknown): XGBoostModel {
  const root = obj(json, "(root)");
  const learner = obj(root.learner, "learner");
  const version = Array.isArray(root.version) ? (root.version as number[]) : [];
  const objective = obj(learner.objective, "learner.objective");
  const objName = String(objective.name);
  const spec = OBJECTIVES[objName];
  if (spec === undefined) {
    throw specError("learner.objective.name", objName, `supported objectives: ${Object.keys(OBJECTIVES).join(", ")}`);
  }
  const mparam = obj(learner.learner_model_param, "learner.learner_model_param");
  const numClass = Number(mparam.num_class ?? 0);
  if (numClass > 1)
    throw specError("learner.learner_model_param.num_class", mparam.num_class, "multi-class models are not supported");
  const numTarget = Number(mparam.num_target ?? 1);
  if (numTarget > 1)
    throw specError(
      "learner.learner_model_param.num_target",
      mparam.num_target,
      "multi-target models are not supported",
    );
  const nFeatures = Number(mparam.num_feature);
  if (!Number.isInteger(nFeatures) || nFeatures < 1)
    throw specError("learner.learner_model_param.num_feature", mparam.num_feature, "must be an integer ≥ 1");
  const baseProb = parseBaseScore(mparam.base_score);
  let baseMargin = baseProb;
  if (spec.link === "sigmoid") {
    if (!(baseProb > 0 && baseProb < 1))
      throw specError(
        "learner.learner_model_param.base_score",
        mparam.base_score,
        "a logistic objective needs base_score in (0, 1)",
      );
    baseMargin = Math.fround(-Math.log(1 / baseProb - 1));
  } else {
    baseMargin = Math.fround(baseProb);
  }

  const booster = obj(learner.gradient_booster, "learner.gradient_booster");
  if (booster.name !== "gbtree")
    throw specError("learner.gradient_booster.name", booster.name, 'only "gbtree" boosters are supported');
  const model = obj(booster.model, "learner.gradient_booster.model");
  if (!Array.isArray(model.trees))
    throw specError("learner.gradient_booster.model.trees", typeof model.trees, "must be an array");
  const trees = model.trees as unknown[];

  const builder = new EnsembleBuilder("XGBoost model");
  trees.forEach((tv, t) => {
    const where = `learner.gradient_booster.model.trees[${t}]`;
    const tree = obj(tv, where);
    const tp = obj(tree.tree_param, `${where}.tree_param`);
    const n = Number(tp.num_nodes);
    if (!Number.isInteger(n) || n < 1)
      throw specError(`${where}.tree_param.num_nodes`, tp.num_nodes, "must be an integer ≥ 1");
    const left = numArray(tree.left_children, `${where}.left_children`, n);
    const right = numArray(tree.right_children, `${where}.right_children`, n);
    const cond = numArray(tree.split_conditions, `${where}.split_conditions`, n);
    const idx = numArray(tree.split_indices, `${where}.split_indices`, n);
    const dl = numArray(tree.default_left, `${where}.default_left`, n);
    const splitType = Array.isArray(tree.split_type) ? numArray(tree.split_type, `${where}.split_type`, n) : undefined;
    const feature = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (left[i] === -1) {
        feature[i] = -1;
        continue;
      }
      if (splitType !== undefined && splitType[i] !== 0) {
        throw specError(
          `${where}.split_type[${i}]`,
          splitType[i],
          "categorical splits in XGBoost models are not supported",
        );
      }
      const f = idx[i] ?? -1;
      if (!Number.isInteger(f) || f < 0 || f >= nFeatures)
        throw specError(`${where}.split_indices[${i}]`, f, `must be in [0, ${nFeatures})`);
      feature[i] = f;
    }
    const cover = Array.isArray(tree.sum_hessian) ? numArray(tree.sum_hessian, `${where}.sum_hessian`, n) : undefined;
    builder.addTree(
      { root: 0, feature, threshold: cond, left, right, defaultLeft: dl, value: cond, ...(cover ? { cover } : {}) },
      t,
    );
  });

  const names = Array.isArray(learner.feature_names) ? (learner.feature_names as unknown[]) : [];
  if (names.length !== 0 && names.length !== nFeatures) {
    throw specError("learner.feature_names.length", names.length, `must equal num_feature (${nFeatures})`);
  }
  const features: ModelFeature[] = Array.from({ length: nFeatures }, (_, i) => ({
    name: names.length === 0 ? `f${i}` : String(names[i]),
  }));
  const ensemble = builder.build({
    nFeatures,
    baseScore: baseMargin,
    link: spec.link,
    compare: "lt",
    precision: "float32",
  });
  return { task: spec.task, objective: objName, features, ensemble, version };
}

export function loadXGBoostPredictor(
  json: unknown,
  opts: { threads?: number; evaluator?: EvaluatorChoice } = {},
): EnsemblePredictor {
  const m = parseXGBoostJson(json);
  return new EnsemblePredictor({
    format: "xgboost",
    task: m.task,
    features: m.features,
    ensemble: m.ensemble,
    inputPrecision: "float32",
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    ...(opts.evaluator === undefined ? {} : { evaluator: opts.evaluator }),
  });
}
