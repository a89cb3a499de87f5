import type { RowReview } from "./review-rules.js";

/**
 * The answers of the hot prediction routes, written straight to JSON text: their shapes are fixed,
 * so building the string directly skips an intermediate object per row and a generic serializer.
 * Every function returns exactly what `JSON.stringify` returns for the same document.
 */

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
 * keel's predict answer: `{request_id, predictions: [{score, decision, model_version, route}]}`; a
 * row queued for review answers its interim decision and `"review": "pending"`.
 */
export function keelPredictionsJson(
  requestId: string,
  scores: Float64Array,
  decide: (score: number) => string,
  modelVersion: string,
  route: string,
  reviews?: readonly (RowReview | undefined)[],
): string {
  const tail = `,"model_version":${JSON.stringify(modelVersion)},"route":${JSON.stringify(route)}`;
  let s = `{"request_id":${JSON.stringify(requestId)},"predictions":[`;
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i] as number;
    const review = reviews?.[i];
    const decision = review === undefined ? decide(score) : review.interimDecision;
    s += `${i === 0 ? "" : ","}{"score":${jsonNumber(score)},"decision":${JSON.stringify(decision)}${tail}`;
    s += review === undefined ? "}" : `,"review":"pending"}`;
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
}): string {
  let s = `{"model_name":${JSON.stringify(args.modelName)},"model_version":${JSON.stringify(args.modelVersion)},"id":${JSON.stringify(args.id)},"parameters":${JSON.stringify(args.parameters)},"outputs":[`;
  if (args.includeOutput) {
    const n = args.scores.length;
    s += `{"name":${JSON.stringify(args.outputName)},"shape":[${n}],"datatype":"FP64","data":[`;
    for (let i = 0; i < n; i++) s += (i === 0 ? "" : ",") + jsonNumber(args.scores[i] as number);
    s += "]}";
  }
  return s + "]}";
}
