/**
 * The answers of the hot prediction routes, written straight to JSON text: their shapes are fixed,
 * so building the string directly skips an intermediate object per row and a generic serializer.
 * Every function returns exactly what `JSON.stringify` returns for the same document.
 */

import type { ReasonCode } from "../store/index.js";

/** A number as JSON writes it: non-finite values become `null`. */
export function jsonNumber(x: number): string {
  return Number.isFinite(x) ? String(x) : "null";
}

/** `{"predictions": [score, ...]}` — MLflow's scoring answer. */
export function mlflowPredictionsJson(scores: Float64Array): string {
  let s = '{"predictions":[';
  for (let i = 0; i < scores.length; i++) s += (i === 0 ? "" : ",") + jsonNumber(scores[i] as number);
  return s + "]}";
}

/**
 * keel's predict answer: `{request_id, predictions: [{score, decision, model_version, route}]}`,
 * each prediction with its `reasons` when the decision was explained.
 */
export function keelPredictionsJson(
  requestId: string,
  scores: Float64Array,
  decide: (score: number) => string,
  modelVersion: string,
  route: string,
  reasons?: readonly (readonly ReasonCode[])[],
): string {
  const tail = `,"model_version":${JSON.stringify(modelVersion)},"route":${JSON.stringify(route)}`;
  let s = `{"request_id":${JSON.stringify(requestId)},"predictions":[`;
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i] as number;
    s += `${i === 0 ? "" : ","}{"score":${jsonNumber(score)},"decision":${JSON.stringify(decide(score))}${tail}`;
    s += reasons === undefined ? "}" : `,"reasons":${JSON.stringify(reasons[i])}}`;
  }
  return s + "]}";
}

/**
 * The Open Inference Protocol's infer answer with one FP64 output tensor of shape `[N]` (or no
 * output tensor when the request asked for none of the model's outputs).
 */
export function inferResponseJson(args: {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id: string;
  readonly outputName: string;
  readonly includeOutput: boolean;
  readonly scores: Float64Array;
  readonly parameters: Readonly<Record<string, string>>;
  /** Per row, its reason codes: sent as a BYTES output `reasons` holding one JSON text per row. */
  readonly reasons?: readonly (readonly ReasonCode[])[];
}): string {
  let s = `{"model_name":${JSON.stringify(args.modelName)},"model_version":${JSON.stringify(args.modelVersion)},"id":${JSON.stringify(args.id)},"parameters":${JSON.stringify(args.parameters)},"outputs":[`;
  if (args.includeOutput) {
    const n = args.scores.length;
    s += `{"name":${JSON.stringify(args.outputName)},"shape":[${n}],"datatype":"FP64","data":[`;
    for (let i = 0; i < n; i++) s += (i === 0 ? "" : ",") + jsonNumber(args.scores[i] as number);
    s += "]}";
  }
  if (args.reasons !== undefined) {
    const texts = args.reasons.map((r) => JSON.stringify(r));
    s += `${args.includeOutput ? "," : ""}{"name":"reasons","shape":[${texts.length}],"datatype":"BYTES","data":${JSON.stringify(texts)}}`;
  }
  return s + "]}";
}
