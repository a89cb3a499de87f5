import type { IncomingHttpHeaders } from "node:http";
import type { Signature } from "../data/index.js";
import { InvalidParameterError } from "../errors.js";
import {
  decodeInferRequest,
  explainOf,
  inferResponseJson,
  keelPredictionsJson,
  newRequestId,
  scoreOutputName,
  tableFromRecords,
  binaryInferResponse,
  binaryOutputWanted,
  type LoadedModel,
  type ModelServer,
  type PredictionResult,
} from "../serving/index.js";
import type { Principal } from "./auth.js";
import { toKeelError } from "./errors.js";

/**
 * The scoring routes' work from a parsed body to the answer, shared by the Fastify routes
 * (routes/serving.ts) and the raw HTTP fast path (scoring-fast-path.ts), so both answer alike.
 */

/** What a scoring request carries besides its body. */
export interface ScoringCaller {
  readonly headers: IncomingHttpHeaders;
  /** The checked token's principal; undefined with auth off. */
  readonly principal?: Principal | undefined;
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Who is asking, for the decision record: the token's name, "anonymous" with auth off. */
export function callerName(principal: Principal | undefined): string {
  return principal?.name ?? "anonymous";
}

export function optionalEntity(entityId: string | undefined): { entityId?: string } {
  return entityId === undefined ? {} : { entityId };
}

export function entityFrom(
  headers: IncomingHttpHeaders,
  parameters: Readonly<Record<string, unknown>> | undefined,
): string | undefined {
  const p = parameters?.entity_id;
  if (typeof p === "string" || typeof p === "number") return String(p);
  return header(headers, "x-keel-entity-id");
}

/** A synchronous throw as a rejected promise, so a handler has one error path. */
function rejected<T>(e: unknown): Promise<T> {
  return Promise.reject(e instanceof Error ? e : new Error(String(e)));
}

/** Run `f`, turning a synchronous throw into a rejected promise (one error path for the handler). */
export function attempt<T>(f: () => Promise<T>): Promise<T> {
  try {
    return f();
  } catch (e) {
    return rejected(e);
  }
}

/** The predict API's body: a JSON array of records, `{records: [...]}`, or one record object. */
function predictRecords(body: unknown): unknown[] {
  const records: unknown[] = Array.isArray(body)
    ? body
    : body !== null && typeof body === "object" && Array.isArray((body as { records?: unknown }).records)
      ? (body as { records: unknown[] }).records
      : body !== null && typeof body === "object" && !("records" in body)
        ? [body]
        : [];
  if (records.length === 0) {
    throw new InvalidParameterError("records: must be a non-empty array of records (or one record object)", {
      details: { field: "records", rule: "non-empty array of objects" },
    });
  }
  return records;
}

/** Per-request reason codes on keel's predict API: `{"records": [...], "explain": {"top_k": 3}}`. */
function keelExplain(body: unknown): { explain?: { topK: number } } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return {};
  const explain = (body as { explain?: unknown }).explain;
  return explain === undefined ? {} : { explain: explainOf(explain, "explain") };
}

/** keel's predict API (`POST /api/keel/endpoints/{name}/predict`): the answer as JSON text. */
export function keelPredict(serving: ModelServer, name: string, body: unknown, caller: ScoringCaller): Promise<string> {
  let pending: Promise<PredictionResult>;
  try {
    const table = tableFromRecords(predictRecords(body), "records");
    pending = serving.predict(name, table, {
      requestId: header(caller.headers, "x-request-id") ?? newRequestId(),
      protocol: "keel",
      caller: callerName(caller.principal),
      ...optionalEntity(header(caller.headers, "x-keel-entity-id")),
      ...keelExplain(body),
    });
  } catch (e) {
    return rejected(e);
  }
  return pending.then((r) =>
    keelPredictionsJson(
      r.requestId,
      r.scores,
      (score) => serving.decision(r, score),
      r.modelVersion,
      r.route,
      r.reasons,
      r.reviews,
    ),
  );
}

/** An OIP infer answer: JSON text, or the binary tensor extension's header length and bytes. */
export type InferAnswer =
  { readonly json: string } | { readonly binary: { readonly headerLength: number; readonly body: Buffer } };

/** Per-request reason codes: OIP `parameters.explain_top_k` (parameters are scalars there). */
function oipExplain(parameters: Readonly<Record<string, unknown>> | undefined): { explain?: { topK: number } } {
  const topK = parameters?.explain_top_k;
  return topK === undefined ? {} : { explain: explainOf({ top_k: topK }, "parameters.explain") };
}

/**
 * The Open Inference Protocol's infer (`POST /v2/models/{name}[/versions/{version}]/infer`) on a
 * parsed request document. Its steps are plain functions, not closures made per request.
 */
export function oipInfer(
  serving: ModelServer,
  name: string,
  pinned: string | undefined,
  body: unknown,
  caller: ScoringCaller,
): Promise<InferAnswer> {
  if (pinned !== undefined)
    return serving.versionModel(name, pinned).then((model) => inferOn(serving, name, pinned, model, body, caller));
  try {
    return inferOn(serving, name, undefined, serving.endpointModel(name), body, caller);
  } catch (e) {
    return rejected(e);
  }
}

/** An endpoint serving by entity key takes its feature service's join keys and request fields. */
function inferOn(
  serving: ModelServer,
  name: string,
  pinned: string | undefined,
  model: LoadedModel,
  body: unknown,
  caller: ScoringCaller,
): Promise<InferAnswer> {
  if (serving.featureService(name) === undefined)
    return inferWith(serving, name, pinned, model, model.signature, [], body, caller);
  return serving
    .requestSignature(name, model.signature)
    .then((r) => inferWith(serving, name, pinned, model, r.signature, r.joinKeys, body, caller));
}

function inferWith(
  serving: ModelServer,
  name: string,
  pinned: string | undefined,
  model: LoadedModel,
  request: Signature,
  joinKeys: readonly string[],
  body: unknown,
  caller: ScoringCaller,
): Promise<InferAnswer> {
  const decoded = decodeInferRequest(body, request, joinKeys);
  const ctx = {
    requestId: decoded.id ?? header(caller.headers, "x-request-id") ?? newRequestId(),
    protocol: "oip",
    caller: callerName(caller.principal),
    ...optionalEntity(entityFrom(caller.headers, decoded.parameters)),
    ...oipExplain(decoded.parameters),
  };
  const pending =
    pinned === undefined
      ? serving.predict(name, decoded.table, ctx)
      : serving.predictVersion(name, pinned, decoded.table, ctx);
  return pending.then((r) => inferAnswer(model, decoded.outputs, body, r));
}

function inferAnswer(
  model: LoadedModel,
  outputs: readonly string[] | undefined,
  body: unknown,
  r: PredictionResult,
): InferAnswer {
  const outputName = scoreOutputName(model.signature);
  const answer = {
    modelName: r.modelName,
    modelVersion: r.modelVersion,
    id: r.requestId,
    outputName,
    includeOutput: outputs === undefined || outputs.includes(outputName),
    scores: r.scores,
    parameters: {
      route: r.route,
      ...(r.fallback ? { fallback: r.fallback } : {}),
      ...(r.reviews ? { review: "pending" } : {}),
    },
    ...(r.reasons !== undefined ? { reasons: r.reasons } : {}),
  };
  return binaryOutputWanted(body, outputName)
    ? { binary: binaryInferResponse(answer) }
    : { json: inferResponseJson(answer) };
}

/** The Open Inference Protocol's error body, `{"error": "..."}`, for any thrown value. */
export function oipError(raw: unknown): { status: number; body: { error: string } } {
  const { error, status } = toKeelError(raw);
  return { status, body: { error: error.message } };
}
