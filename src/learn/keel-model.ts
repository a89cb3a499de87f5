import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../data/index.js";
import type { Frame, Signature } from "../data/index.js";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import { EnsemblePredictor } from "./ensemble-predictor.js";
import type { ModelFeature } from "./ensemble-predictor.js";
import { predictLinear } from "./linear/train.js";
import type { LinearModelBody } from "./linear/train.js";
import type { ModelFormat, ModelTask, Predictor } from "./predictor.js";
import type { TreeEnsemble } from "./tree-ensemble.js";

/** Version of keel's model JSON; a loader refuses versions it does not know. */
export const KEEL_MODEL_VERSION = 1;

export interface KeelTarget {
  readonly name: string;
  readonly positive_class?: string;
  readonly negative_class?: string;
}

/** A tree model's input: numeric, or categorical with the category list its codes index. */
export interface KeelFeature {
  readonly name: string;
  readonly kind: "numeric" | "categorical";
  readonly categories?: readonly string[];
}

/** The tree ensemble as plain JSON arrays (TreeEnsemble field for field). */
export interface KeelEnsembleJson {
  readonly n_features: number;
  readonly tree_offsets: readonly number[];
  readonly feature: readonly number[];
  readonly threshold: readonly number[];
  readonly left: readonly number[];
  readonly right: readonly number[];
  readonly default_left: readonly number[];
  readonly value: readonly number[];
  readonly base_score: number;
  readonly link: "identity" | "sigmoid";
  readonly compare: "lt";
  /** Per node hessian sum (TreeSHAP's weights); absent in models saved before keel recorded it. */
  readonly cover?: readonly number[];
  readonly categorical?: {
    readonly node_set: readonly number[];
    readonly set_offsets: readonly number[];
    readonly bits: readonly number[];
  };
}

interface KeelModelCommon {
  readonly format: "keel";
  readonly format_version: number;
  readonly task: ModelTask;
  /** Raw input contract: the feature columns as they were in the training data. */
  readonly signature: Signature;
  readonly target: KeelTarget;
  readonly id_column?: string;
  readonly params: Readonly<Record<string, unknown>>;
}

export interface KeelGbdtModel extends KeelModelCommon {
  readonly model_type: "gbdt";
  readonly features: readonly KeelFeature[];
  readonly ensemble: KeelEnsembleJson;
  readonly n_trees: number;
  readonly best_iteration: number;
  readonly importance: {
    readonly gain: Readonly<Record<string, number>>;
    readonly split: Readonly<Record<string, number>>;
  };
}

export interface KeelLinearModel extends KeelModelCommon {
  readonly model_type: "linear";
  readonly linear: LinearModelBody;
}

export type KeelModel = KeelGbdtModel | KeelLinearModel;

export function ensembleToJson(e: TreeEnsemble): KeelEnsembleJson {
  if (e.compare !== "lt") throw new InvalidParameterError(`ensemble.compare = ${e.compare}: keel models use "lt"`);
  const base = {
    n_features: e.nFeatures,
    tree_offsets: Array.from(e.treeOffsets),
    feature: Array.from(e.feature),
    threshold: Array.from(e.threshold),
    left: Array.from(e.left),
    right: Array.from(e.right),
    default_left: Array.from(e.defaultLeft),
    value: Array.from(e.value),
    base_score: e.baseScore,
    link: e.link,
    compare: "lt" as const,
    ...(e.cover ? { cover: Array.from(e.cover) } : {}),
  };
  if (!e.categorical) return base;
  return {
    ...base,
    categorical: {
      node_set: Array.from(e.categorical.nodeSet),
      set_offsets: Array.from(e.categorical.setOffsets),
      bits: Array.from(e.categorical.bits),
    },
  };
}

export function ensembleFromJson(j: KeelEnsembleJson): TreeEnsemble {
  const base: TreeEnsemble = {
    nFeatures: j.n_features,
    treeOffsets: Int32Array.from(j.tree_offsets),
    feature: Int32Array.from(j.feature),
    threshold: Float64Array.from(j.threshold),
    left: Int32Array.from(j.left),
    right: Int32Array.from(j.right),
    defaultLeft: Uint8Array.from(j.default_left),
    value: Float64Array.from(j.value),
    baseScore: j.base_score,
    link: j.link,
    compare: "lt",
    ...(isNumArray(j.cover) ? { cover: Float64Array.from(j.cover) } : {}),
  };
  if (!j.categorical) return base;
  return {
    ...base,
    categorical: {
      nodeSet: Int32Array.from(j.categorical.node_set),
      setOffsets: Int32Array.from(j.categorical.set_offsets),
      bits: Uint32Array.from(j.categorical.bits),
    },
  };
}

function invalid(field: string, value: unknown, rule: string): InvalidParameterError {
  return new InvalidParameterError(`keel model: ${field} = ${JSON.stringify(value)}: ${rule}`, {
    details: { field, value, rule },
  });
}

function isNumArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === "number");
}

/** Checks a parsed JSON document is a keel model this version can score. */
export function parseKeelModel(json: unknown): KeelModel {
  if (typeof json !== "object" || json === null) throw invalid("document", typeof json, "must be a JSON object");
  const m = json as Record<string, unknown>;
  if (m.format !== "keel") throw invalid("format", m.format, 'must be "keel"');
  if (m.format_version !== KEEL_MODEL_VERSION)
    throw invalid("format_version", m.format_version, `this keel reads version ${KEEL_MODEL_VERSION}`);
  if (m.task !== "binary" && m.task !== "regression") throw invalid("task", m.task, 'must be "binary" or "regression"');
  const sig = m.signature as Record<string, unknown> | undefined;
  if (typeof sig !== "object" || sig === null || !Array.isArray(sig.inputs))
    throw invalid("signature", sig, "must have an inputs array");
  const target = m.target as Record<string, unknown> | undefined;
  if (typeof target !== "object" || target === null || typeof target.name !== "string")
    throw invalid("target", target, "must have a name");
  if (m.model_type === "gbdt") {
    const e = m.ensemble as Record<string, unknown> | undefined;
    if (typeof e !== "object" || e === null) throw invalid("ensemble", e, "must be an object");
    for (const k of ["tree_offsets", "feature", "threshold", "left", "right", "default_left", "value"]) {
      if (!isNumArray(e[k])) throw invalid(`ensemble.${k}`, typeof e[k], "must be an array of numbers");
    }
    if (!Array.isArray(m.features) || m.features.length !== e.n_features) {
      throw invalid(
        "features",
        Array.isArray(m.features) ? m.features.length : m.features,
        `must list ensemble.n_features (${String(e.n_features)}) features`,
      );
    }
    return json as KeelGbdtModel;
  }
  if (m.model_type === "linear") {
    const l = m.linear as Record<string, unknown> | undefined;
    if (typeof l !== "object" || l === null || typeof l.intercept !== "number" || !Array.isArray(l.terms)) {
      throw invalid("linear", l, "must have a numeric intercept and a terms array");
    }
    return json as KeelLinearModel;
  }
  throw invalid("model_type", m.model_type, 'must be "gbdt" or "linear"');
}

/** Is this parsed JSON a keel model (for format detection)? */
export function isKeelModelJson(json: unknown): boolean {
  return typeof json === "object" && json !== null && (json as Record<string, unknown>).format === "keel";
}

/**
 * The model as JSON text. Key order is fixed by construction and numbers print in their
 * shortest round-trip form, so the same model always gives the same bytes.
 */
export function serializeKeelModel(model: KeelModel): string {
  return JSON.stringify(model);
}

/** Writes the model atomically (temp file, then rename). */
export async function saveKeelModel(model: KeelModel, path: string): Promise<void> {
  await writeFileAtomic(path, serializeKeelModel(model));
}

export async function readKeelModel(path: string): Promise<KeelModel> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new NotFoundError(`model file ${path} cannot be read (${(e as Error).message})`, {
      cause: e,
      details: { field: "model", value: path },
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid("document", path, `is not valid JSON (${(e as Error).message})`);
  }
  return parseKeelModel(json);
}

/** A GBDT model's inputs as the ensemble reads them: categorical ones with their category codes. */
export function keelModelFeatures(model: KeelGbdtModel): ModelFeature[] {
  return model.features.map((f) =>
    f.kind === "categorical" ? { name: f.name, categories: f.categories ?? [] } : { name: f.name },
  );
}

/** Scores raw frames with a keel model: the model's own preprocessing is applied here. */
export class KeelPredictor implements Predictor {
  readonly format: ModelFormat = "keel";
  readonly task: ModelTask;
  readonly signature: Signature;
  readonly model: KeelModel;
  private readonly ensemble: EnsemblePredictor | null;

  constructor(model: KeelModel, options: { threads?: number } = {}) {
    this.model = model;
    this.task = model.task;
    this.signature = model.signature;
    if (model.model_type === "gbdt") {
      this.ensemble = new EnsemblePredictor({
        format: "keel",
        task: model.task,
        features: keelModelFeatures(model),
        ensemble: ensembleFromJson(model.ensemble),
        inputPrecision: "float64",
        threads: options.threads ?? 1,
      });
    } else {
      this.ensemble = null;
    }
  }

  predict(frame: Frame): Promise<Float64Array> {
    if (this.ensemble) return this.ensemble.predict(frame);
    return Promise.resolve(predictLinear((this.model as KeelLinearModel).linear, frame));
  }

  close(): Promise<void> {
    return this.ensemble ? this.ensemble.close() : Promise.resolve();
  }
}

/** Loads a keel model file (or parsed JSON) as a Predictor. */
export async function loadKeelPredictor(
  source: string | KeelModel,
  options: { threads?: number } = {},
): Promise<KeelPredictor> {
  const model = typeof source === "string" ? await readKeelModel(source) : source;
  return new KeelPredictor(model, options);
}
