import type { Frame } from "../data/index.js";
import { InvalidParameterError, isKeelError } from "../errors.js";
import type { ReasonCode } from "../store/index.js";
import type { InputTable } from "./input-table.js";
import type { LoadedModel } from "./model-pool.js";

/**
 * Per row, the `topK` inputs with the largest |SHAP contribution| to the margin (exact TreeSHAP or
 * linear SHAP, src/learn/explain), largest first, each with its value as received.
 */
export async function reasonCodes(
  model: LoadedModel,
  frame: Frame,
  table: InputTable,
  topK: number,
): Promise<ReasonCode[][]> {
  const explainer = await model.explainer().catch((e: unknown) => {
    if (!isKeelError(e) || e.code !== "INVALID_PARAMETER_VALUE") throw e;
    throw new InvalidParameterError(
      `explain: model ${model.name} version ${model.version} (${model.predictor.format}) has no exact explanation; reason codes need a tree ensemble (keel, XGBoost JSON, LightGBM text) or a keel linear model`,
      {
        details: { field: "explain", value: model.predictor.format, rule: "keel | XGBoost JSON | LightGBM text" },
        cause: e,
      },
    );
  });
  const contributions = explainer.explain(frame);
  return topReasons(contributions, frame.nRows, explainer.features, topK, (feature, row) => {
    const v = table.columns.get(feature)?.[row];
    return v === undefined ? null : v;
  });
}

/**
 * The top-k of row-major contributions (`features.length + 1` per row, the bias last, which is no
 * reason). Ties keep the features' order, so the answer is deterministic.
 */
export function topReasons(
  contributions: Float64Array,
  nRows: number,
  features: readonly string[],
  topK: number,
  valueOf: (feature: string, row: number) => ReasonCode["value"],
): ReasonCode[][] {
  const width = features.length + 1;
  const k = Math.min(topK, features.length);
  const order = new Int32Array(features.length);
  const out = new Array<ReasonCode[]>(nRows);
  for (let r = 0; r < nRows; r++) {
    const base = r * width;
    for (let j = 0; j < order.length; j++) order[j] = j;
    order.sort((a, b) => {
      const d = Math.abs(contributions[base + b] as number) - Math.abs(contributions[base + a] as number);
      return d !== 0 ? d : a - b;
    });
    const row: ReasonCode[] = new Array<ReasonCode>(k);
    for (let j = 0; j < k; j++) {
      const f = order[j] as number;
      const feature = features[f] as string;
      row[j] = { feature, value: valueOf(feature, r), contribution: contributions[base + f] as number };
    }
    out[r] = row;
  }
  return out;
}
