import { createRequire } from "node:module";
import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import { AuthenticationError, NotFoundError, PermissionError } from "../errors.js";
import type { Logger } from "../runtime/index.js";
import {
  BINARY_TENSOR_EXTENSION,
  decodeBinaryTensor,
  decodeInferRequest,
  explainOf,
  modelMetadata,
  newRequestId,
  scoreOutputName,
  type ModelServer,
  type OipDatatype,
  type PredictionResult,
} from "../serving/index.js";
import { specError } from "../spec-fields.js";
import { bearerToken, roleAtLeast, type Principal, type Role, type TokenVerifier } from "./auth.js";
import { toKeelError } from "./errors.js";
import { OIP_GRPC_DESCRIPTOR } from "./oip-grpc-descriptor.js";

/**
 * The Open Inference Protocol's gRPC service (`inference.GRPCInferenceService`, the proto under
 * third_party/open-inference-protocol) on its own port, over the same ModelServer as the REST
 * routes: the same endpoints and traffic policies, the same request decoder and validation, the
 * same inference log and metrics (protocol "grpc"). Errors carry the gRPC status of their HTTP
 * counterpart and keel's message naming the field.
 */

const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true } as const;
const SERVER_NAME = "keel";
/** Messages are capped like HTTP bodies. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface GrpcInferenceOptions {
  readonly serving: ModelServer;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** keel's version, for ServerMetadata. */
  readonly version: string;
  /** With auth on, every call needs `authorization: Bearer <token>` metadata and the REST routes' roles. */
  readonly auth?: { readonly enabled: boolean; readonly verifier?: TokenVerifier | undefined };
  readonly logger?: Logger;
}

export interface RunningGrpc {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

type Parameter = { parameter_choice?: string } & Record<string, unknown>;
interface InputTensor {
  name?: string;
  datatype?: string;
  shape?: number[];
  parameters?: Record<string, Parameter>;
  contents?: Record<string, unknown[]>;
}
interface InferRequestMessage {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, Parameter>;
  inputs?: InputTensor[];
  outputs?: { name?: string; parameters?: Record<string, Parameter> }[];
  raw_input_contents?: Buffer[];
}

/** The typed contents field each datatype's elements travel in. */
const CONTENTS_FIELD: Record<OipDatatype, string | undefined> = {
  BOOL: "bool_contents",
  INT8: "int_contents",
  INT16: "int_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  UINT8: "uint_contents",
  UINT16: "uint_contents",
  UINT32: "uint_contents",
  UINT64: "uint64_contents",
  FP16: undefined,
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  BYTES: "bytes_contents",
};

/** HTTP status of a keel error → gRPC status code. */
function grpcStatus(http: number): grpc.status {
  switch (http) {
    case 400:
      return grpc.status.INVALID_ARGUMENT;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 403:
      return grpc.status.PERMISSION_DENIED;
    case 404:
      return grpc.status.NOT_FOUND;
    case 409:
      return grpc.status.ALREADY_EXISTS;
    case 413:
    case 429:
      return grpc.status.RESOURCE_EXHAUSTED;
    case 503:
      return grpc.status.UNAVAILABLE;
    case 504:
      return grpc.status.DEADLINE_EXCEEDED;
    default:
      return http >= 400 && http < 500 ? grpc.status.FAILED_PRECONDITION : grpc.status.INTERNAL;
  }
}

/** The plain value of each InferParameter (its `oneof` choice). */
function parameterValues(params: Record<string, Parameter> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(params ?? {})) {
    const choice = p.parameter_choice;
    if (choice !== undefined) out[k] = p[choice];
  }
  return out;
}

/** One input's elements: from its raw bytes, or from the typed contents field of its datatype. */
function inputData(t: InputTensor, i: number, raw: Buffer | undefined): unknown[] {
  const datatype = t.datatype as OipDatatype;
  if (raw !== undefined) {
    if (t.contents !== undefined && Object.keys(t.contents).length > 0)
      throw specError(`inputs[${i}].contents`, "…", "must be empty when raw_input_contents is used");
    if (!(datatype in CONTENTS_FIELD)) return [];
    return decodeBinaryTensor(raw, datatype, `raw_input_contents[${i}]`);
  }
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) {
    if (datatype === "FP16")
      throw specError(`inputs[${i}].contents`, "FP16", "FP16 tensors travel in raw_input_contents");
    return [];
  }
  const values = t.contents?.[field] ?? [];
  if (datatype === "BYTES") return values.map((v) => (Buffer.isBuffer(v) ? v.toString("utf8") : v));
  // Typed floats have no null: NaN is a missing value, as JSON's null is.
  if (datatype === "FP32" || datatype === "FP64") return values.map((v) => (Number.isNaN(v) ? null : v));
  return values;
}

/** The gRPC request as the REST decoder's document, so both transports validate alike. */
function inferDocument(req: InferRequestMessage): { doc: unknown; raw: boolean } {
  const inputs = req.inputs ?? [];
  const raw = req.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== inputs.length)
    throw specError("raw_input_contents", `${raw.length} entries`, `must hold one entry per input (${inputs.length})`);
  const doc = {
    ...(req.id === undefined || req.id === "" ? {} : { id: req.id }),
    parameters: parameterValues(req.parameters),
    inputs: inputs.map((t, i) => ({
      name: t.name ?? "",
      datatype: t.datatype ?? "",
      shape: t.shape ?? [],
      data: inputData(t, i, raw.length > 0 ? raw[i] : undefined),
    })),
    ...(req.outputs === undefined || req.outputs.length === 0
      ? {}
      : { outputs: req.outputs.map((o) => ({ name: o.name ?? "" })) }),
  };
  return { doc, raw: raw.length > 0 };
}

function stringParameter(value: string): Parameter {
  return { string_param: value };
}

/** The ModelInferResponse of a prediction: scores as FP64, raw when the request was raw. */
function inferResponse(r: PredictionResult, outputName: string, include: boolean, raw: boolean): unknown {
  const parameters: Record<string, Parameter> = { route: stringParameter(r.route) };
  if (r.fallback) parameters.fallback = stringParameter(r.fallback);
  if (r.reviews) parameters.review = stringParameter("pending");
  const outputs: unknown[] = [];
  const rawOut: Buffer[] = [];
  if (include) {
    const shape = [r.scores.length];
    if (raw) {
      const bytes = Buffer.alloc(r.scores.length * 8);
      r.scores.forEach((v, i) => bytes.writeDoubleLE(v, i * 8));
      rawOut.push(bytes);
      outputs.push({ name: outputName, datatype: "FP64", shape });
    } else {
      outputs.push({ name: outputName, datatype: "FP64", shape, contents: { fp64_contents: Array.from(r.scores) } });
    }
  }
  if (r.reasons !== undefined) {
    const texts = r.reasons.map((x) => Buffer.from(JSON.stringify(x), "utf8"));
    if (raw) {
      rawOut.push(Buffer.concat(texts.flatMap((t) => [Buffer.from(Uint32Array.of(t.length).buffer), t])));
      outputs.push({ name: "reasons", datatype: "BYTES", shape: [texts.length] });
    } else {
      outputs.push({ name: "reasons", datatype: "BYTES", shape: [texts.length], contents: { bytes_contents: texts } });
    }
  }
  return {
    model_name: r.modelName,
    model_version: r.modelVersion,
    id: r.requestId,
    parameters,
    outputs,
    ...(raw ? { raw_output_contents: rawOut } : {}),
  };
}

async function modelInfer(serving: ModelServer, req: InferRequestMessage, caller: string): Promise<unknown> {
  const name = req.model_name ?? "";
  if (name === "") throw specError("model_name", name, "must name a served model");
  const pinned = req.model_version === undefined || req.model_version === "" ? undefined : req.model_version;
  const model = pinned === undefined ? serving.endpointModel(name) : await serving.versionModel(name, pinned);
  const request =
    serving.featureService(name) === undefined
      ? { signature: model.signature, joinKeys: [] as readonly string[] }
      : await serving.requestSignature(name, model.signature);
  const { doc, raw } = inferDocument(req);
  const decoded = decodeInferRequest(doc, request.signature, request.joinKeys);
  const topK = decoded.parameters.explain_top_k;
  const entity = decoded.parameters.entity_id;
  const ctx = {
    requestId: decoded.id ?? newRequestId(),
    protocol: "grpc",
    caller,
    ...(typeof entity === "string" || typeof entity === "number" ? { entityId: String(entity) } : {}),
    ...(topK === undefined ? {} : { explain: explainOf({ top_k: topK }, "parameters.explain") }),
  };
  const r =
    pinned === undefined
      ? await serving.predict(name, decoded.table, ctx)
      : await serving.predictVersion(name, pinned, decoded.table, ctx);
  const outputName = scoreOutputName(model.signature);
  return inferResponse(r, outputName, decoded.outputs === undefined || decoded.outputs.includes(outputName), raw);
}

async function modelReady(serving: ModelServer, name: string, version: string): Promise<{ ready: boolean }> {
  if (version !== "") {
    await serving.versionModel(name, version);
    return { ready: true };
  }
  if (!serving.hasEndpoint(name)) {
    throw new NotFoundError(`model ${JSON.stringify(name)} is not served`, {
      details: { field: "name", value: name, rule: "must name a served model" },
    });
  }
  return { ready: serving.listEndpoints().find((e) => e.name === name)?.ready ?? false };
}

async function modelMetadataOf(serving: ModelServer, name: string, version: string): Promise<unknown> {
  if (version !== "") {
    const m = await serving.versionModel(name, version);
    return modelMetadata(name, [m.version], m.predictor.format, m.signature);
  }
  const m = serving.endpointModel(name);
  const request = await serving.requestSignature(name, m.signature);
  const inputs = [
    ...request.joinKeys.map((key) => ({ name: key, type: "string" as const, nullable: false })),
    ...request.signature.inputs,
  ];
  return modelMetadata(name, await serving.versions(m.name), m.predictor.format, {
    inputs,
    outputs: m.signature.outputs,
  });
}

/** Checks the call's bearer token when auth is on; the caller's name for the decision record. */
async function authorize(
  call: grpc.ServerUnaryCall<unknown, unknown>,
  need: Role,
  what: string,
  auth: GrpcInferenceOptions["auth"],
): Promise<string> {
  if (auth?.enabled !== true) return "anonymous";
  const header = call.metadata.get("authorization")[0];
  const token = bearerToken(typeof header === "string" ? header : header?.toString("utf8"));
  if (auth.verifier === undefined) throw new AuthenticationError("auth is on but this server has no token store");
  const principal: Principal | undefined = await auth.verifier.verify(token);
  if (principal === undefined) throw new AuthenticationError("invalid or revoked token");
  if (!roleAtLeast(principal.role, need)) {
    throw new PermissionError(`${what} requires role ${need}; token '${principal.name}' has role ${principal.role}`, {
      details: { required: need, role: principal.role },
    });
  }
  return principal.name;
}

/** keel's version, as the REST server metadata reports it (src/ and dist/ sit at the same depth). */
export function keelVersion(): string {
  return (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
}

/** Starts the gRPC inference service; resolves once it listens. */
export async function startGrpcInference(options: GrpcInferenceOptions): Promise<RunningGrpc> {
  const { serving, logger } = options;
  const definition = fromJSON(OIP_GRPC_DESCRIPTOR, LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } };
  };
  const unary =
    <Req>(method: string, need: Role, handle: (req: Req, caller: string) => unknown) =>
    (call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
      authorize(
        call as grpc.ServerUnaryCall<unknown, unknown>,
        need,
        `inference.GRPCInferenceService/${method}`,
        options.auth,
      )
        .then((caller) => handle(call.request, caller))
        .then(
          (response) => callback(null, response),
          (e: unknown) => {
            const { error, status } = toKeelError(e);
            if (status >= 500) logger?.error({ err: e }, `gRPC ${method} failed`);
            callback({ code: grpcStatus(status), details: error.message });
          },
        );
    };
  type Named = { name?: string; version?: string };
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  server.addService(pkg.inference.GRPCInferenceService.service, {
    ServerLive: unary("ServerLive", "reader", () => ({ live: true })),
    ServerReady: unary("ServerReady", "reader", () => ({ ready: serving.ready })),
    ModelReady: unary<Named>("ModelReady", "reader", (r) => modelReady(serving, r.name ?? "", r.version ?? "")),
    ServerMetadata: unary("ServerMetadata", "reader", () => ({
      name: SERVER_NAME,
      version: options.version,
      extensions: [BINARY_TENSOR_EXTENSION],
    })),
    ModelMetadata: unary<Named>("ModelMetadata", "reader", (r) =>
      modelMetadataOf(serving, r.name ?? "", r.version ?? ""),
    ),
    ModelInfer: unary<InferRequestMessage>("ModelInfer", "writer", (r, caller) => modelInfer(serving, r, caller)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err === null ? resolve(bound) : reject(err),
    ),
  );
  return {
    port,
    address: `${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
