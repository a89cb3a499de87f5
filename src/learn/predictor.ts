import type { Frame, Signature } from "../data/index.js";

export type ModelFormat = "keel" | "xgboost" | "lightgbm" | "onnx";
export type ModelTask = "binary" | "regression";

/**
 * One interface over every model format keel loads. `predict` takes raw input columns named as
 * in `signature.inputs` (a keel model applies its own preprocessing) and returns one score per
 * row: the positive-class probability for `binary`, the prediction for `regression`.
 */
export interface Predictor {
  readonly format: ModelFormat;
  readonly task: ModelTask;
  readonly signature: Signature;
  predict(frame: Frame): Promise<Float64Array>;
  /** Release native resources (ONNX sessions, worker threads). */
  close(): Promise<void>;
}
