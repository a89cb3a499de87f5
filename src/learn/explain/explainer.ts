import type { Frame, Signature } from "../../data/index.js";
import { InvalidParameterError } from "../../errors.js";
import { CategoryLookups, frameToMatrix, signatureFromFeatures, type ModelFeature } from "../ensemble-predictor.js";
import { ensembleFromJson, keelModelFeatures, parseKeelModel, type KeelModel } from "../keel-model.js";
import { parseLightGBMText } from "../lightgbm-model.js";
import { detectModelFormat, readModelFile } from "../load-model.js";
import type { ModelFormat, ModelTask } from "../predictor.js";
import type { TreeEnsemble } from "../tree-ensemble.js";
import { parseXGBoostJson } from "../xgboost-model.js";
import { linearShap } from "./linear-shap.js";
import { TreeShap } from "./tree-shap.js";

/**
 * Exact per-row explanations of a model, in margin space: for each row one SHAP value per model
 * input plus the bias, summing to the row's margin (log-odds for a binary model, the prediction
 * for a regression one with an identity link).
 */
export interface Explainer {
  readonly format: ModelFormat;
  readonly task: ModelTask;
  /** Raw input contract, as the model's predictor has it. */
  readonly signature: Signature;
  /** The explained inputs, in output order; each row has `features.length + 1` values, the bias last. */
  readonly features: readonly string[];
  /** The margin of a row nothing is known about (see the model kind's background). */
  readonly bias: number;
  /** Row-major `nRows × (features.length + 1)` values; pass `out` to reuse a buffer. */
  explain(frame: Frame, out?: Float64Array): Float64Array;
}

/** TreeSHAP over a tree ensemble whose inputs are laid out as its predictor lays them out. */
export function treeExplainer(opts: {
  readonly format: ModelFormat;
  readonly task: ModelTask;
  readonly features: readonly ModelFeature[];
  readonly ensemble: TreeEnsemble;
  readonly inputPrecision: "float32" | "float64";
  readonly signature?: Signature;
}): Explainer {
  const shap = new TreeShap(opts.ensemble);
  const lookups = new CategoryLookups();
  return {
    format: opts.format,
    task: opts.task,
    signature: opts.signature ?? signatureFromFeatures(opts.features),
    features: opts.features.map((f) => f.name),
    bias: shap.bias,
    explain: (frame, out) =>
      shap.explain(frameToMatrix(frame, opts.features, opts.inputPrecision, lookups), frame.nRows, out),
  };
}

/** An explainer for a keel model: TreeSHAP for GBDT, exact linear SHAP for the linear model. */
export function keelExplainer(model: KeelModel): Explainer {
  if (model.model_type === "gbdt") {
    return treeExplainer({
      format: "keel",
      task: model.task,
      features: keelModelFeatures(model),
      ensemble: ensembleFromJson(model.ensemble),
      inputPrecision: "float64",
      signature: model.signature,
    });
  }
  const body = model.linear;
  return {
    format: "keel",
    task: model.task,
    signature: model.signature,
    features: body.terms.map((t) => t.name),
    bias: body.intercept,
    explain: (frame, out) => linearShap(body, frame, out),
  };
}

/** Loads a model file (path or bytes) of any format with exact explanations: keel, XGBoost JSON, LightGBM text. */
export async function loadExplainer(source: string | Uint8Array): Promise<Explainer> {
  const { bytes, name } = await readModelFile(source);
  const detected = detectModelFormat(bytes, name);
  switch (detected.format) {
    case "keel":
      return keelExplainer(parseKeelModel(detected.json));
    case "xgboost": {
      const m = parseXGBoostJson(detected.json);
      return treeExplainer({
        format: "xgboost",
        task: m.task,
        features: m.features,
        ensemble: m.ensemble,
        inputPrecision: "float32",
      });
    }
    case "lightgbm": {
      const m = parseLightGBMText(new TextDecoder().decode(bytes));
      return treeExplainer({
        format: "lightgbm",
        task: m.task,
        features: m.features,
        ensemble: m.ensemble,
        inputPrecision: "float64",
      });
    }
    case "onnx":
      throw new InvalidParameterError(
        `--model ${name}: an ONNX model cannot be explained exactly; explanations need a tree ensemble (keel, XGBoost JSON, LightGBM text) or a keel linear model`,
        { details: { field: "model", value: name, rule: "keel | XGBoost JSON | LightGBM text" } },
      );
  }
}
