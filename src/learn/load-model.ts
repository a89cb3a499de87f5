import { readFile } from "node:fs/promises";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import { inSpecFile } from "../spec-fields.js";
import { isKeelModelJson, KeelPredictor, parseKeelModel } from "./keel-model.js";
import { loadLightGBMPredictor } from "./lightgbm-model.js";
import { OnnxPredictor, type OnnxOptions } from "./onnx-model.js";
import type { ModelFormat, Predictor } from "./predictor.js";
import { decodeUbjson, legacyBinaryToJson, looksLikeUbjson, looksLikeXGBoostLegacy } from "./xgboost-binary.js";
import { loadXGBoostPredictor } from "./xgboost-model.js";

export interface LoadPredictorOptions {
  /** Worker threads for large batches (tree models) / onnxruntime intra-op threads. Default 1. */
  readonly threads?: number;
  /** ONNX only: the output to score from and the task, when detection is not enough. */
  readonly onnx?: Omit<OnnxOptions, "threads">;
  /**
   * XGBoost only: the input names, in feature order, of a model file that carries none (the legacy
   * binary format never does; a booster trained on a bare matrix neither), e.g. from the column
   * names of an MLflow signature. The file's own names win.
   */
  readonly featureNames?: readonly string[];
}

/** Model formats `detectModelFormat` recognises from a file's bytes. */
export type DetectedFormat = ModelFormat;

function firstNonSpace(bytes: Uint8Array): number {
  let i = 0;
  // Skip a UTF-8 byte order mark and leading whitespace.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return i;
}

/**
 * The format of a model file, from its content: keel JSON, XGBoost JSON (an object with `learner`),
 * LightGBM text (first line `tree`), ONNX (a protobuf ModelProto, whose first field is
 * `ir_version`, tag 0x08).
 */
export function detectModelFormat(bytes: Uint8Array, name = "model"): { format: DetectedFormat; json?: unknown } {
  if (looksLikeUbjson(bytes)) return { format: "xgboost", json: inSpecFile(name, () => decodeUbjson(bytes)) };
  if (looksLikeXGBoostLegacy(bytes))
    return { format: "xgboost", json: inSpecFile(name, () => legacyBinaryToJson(bytes)) };
  const i = firstNonSpace(bytes);
  const head = new TextDecoder().decode(bytes.subarray(i, i + 8));
  if (head.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new InvalidParameterError(
        `${name}: starts with "{" but is neither valid JSON nor XGBoost UBJSON (${(e as Error).message})`,
        {
          details: { field: "model", value: name, rule: "valid JSON" },
        },
      );
    }
    if (isKeelModelJson(json)) return { format: "keel", json };
    if (typeof json === "object" && json !== null && "learner" in json) return { format: "xgboost", json };
    throw new InvalidParameterError(
      `${name}: a JSON model must be a keel model or an XGBoost model (an object with "learner")`,
      { details: { field: "model", value: name, rule: "keel JSON | XGBoost JSON" } },
    );
  }
  if (head.startsWith("tree\n") || head.startsWith("tree\r\n")) return { format: "lightgbm" };
  if (bytes[0] === 0x08) return { format: "onnx" };
  throw new InvalidParameterError(
    `${name}: unrecognised model format; supported: XGBoost JSON, UBJSON or legacy binary, LightGBM text, ONNX`,
    {
      details: {
        field: "model",
        value: name,
        rule: "XGBoost JSON | XGBoost UBJSON | XGBoost binary | LightGBM text | ONNX",
      },
    },
  );
}

/** A model file's bytes and the name errors call it by; bytes pass through as they are. */
export async function readModelFile(source: string | Uint8Array): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof source !== "string") return { bytes: source, name: "model" };
  try {
    return { bytes: await readFile(source), name: source };
  } catch (e) {
    throw new NotFoundError(`model file ${source} cannot be read (${(e as Error).message})`, {
      cause: e,
      details: { field: "model", value: source },
    });
  }
}

/** Loads a model file (path or bytes) of any supported format behind the one Predictor interface. */
export async function loadPredictor(source: string | Uint8Array, opts: LoadPredictorOptions = {}): Promise<Predictor> {
  const { bytes, name } = await readModelFile(source);
  const threads = opts.threads === undefined ? {} : { threads: opts.threads };
  const detected = detectModelFormat(bytes, name);
  switch (detected.format) {
    case "keel":
      return new KeelPredictor(parseKeelModel(detected.json), threads);
    case "xgboost":
      return loadXGBoostPredictor(withFeatureNames(detected.json, opts.featureNames, name), threads);
    case "lightgbm":
      return loadLightGBMPredictor(new TextDecoder().decode(bytes), threads);
    case "onnx":
      return OnnxPredictor.load(bytes, { ...opts.onnx, ...threads });
  }
}

/** The XGBoost document with `names` as its feature names when it has none of its own. */
function withFeatureNames(json: unknown, names: readonly string[] | undefined, file: string): unknown {
  if (names === undefined || typeof json !== "object" || json === null) return json;
  const learner = (json as { learner?: unknown }).learner;
  if (typeof learner !== "object" || learner === null) return json;
  const own = (learner as { feature_names?: unknown }).feature_names;
  if (Array.isArray(own) && own.length > 0) return json;
  const count = Number(
    (learner as { learner_model_param?: { num_feature?: unknown } }).learner_model_param?.num_feature,
  );
  if (names.length !== count) {
    throw new InvalidParameterError(
      `${file}: the signature names ${names.length} inputs but the XGBoost model has ${count} features`,
      {
        details: {
          field: "signature.inputs",
          value: names.length,
          rule: `must name the model's ${count} features in order`,
        },
      },
    );
  }
  return { ...json, learner: { ...learner, feature_names: [...names] } };
}
