import { createRequire } from "node:module";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidParameterError, NotFoundError } from "../../errors.js";
import {
  championOverridden,
  decodeInvocationsCsv,
  decodeInvocationsJson,
  newRequestId,
  mlflowPredictionsJson,
  modelMetadata,
  BINARY_TENSOR_EXTENSION,
  INFERENCE_HEADER_LENGTH,
  inferRequestDocument,
  type EndpointSummary,
  type ModelServer,
} from "../../serving/index.js";
import { Registry } from "prom-client";
import type { AppDeps, RoutePlugin } from "../app-deps.js";
import { toKeelError } from "../errors.js";
import { requireRole } from "../auth.js";
import { parseJsonBody, sendJson } from "../json-body.js";
import { actorOf } from "./mlflow-common.js";
import {
  attempt,
  callerName,
  entityFrom,
  header,
  keelPredict,
  oipInfer,
  oipError,
  optionalEntity,
  type InferAnswer,
} from "../scoring.js";

const SERVER_NAME = "keel";

type NameParams = { name: string };
type VersionParams = { name: string; version: string };

/**
 * Serving over HTTP: the Open Inference Protocol V2 (`/v2/...`, errors as `{"error": ...}`),
 * MLflow's scoring protocol (`/invocations`, `/ping`), keel's friendly predict API and the
 * endpoints API, and Prometheus `/metrics`. Registered only when the app has a model server.
 */
export const servingRoutes: RoutePlugin = async (app: FastifyInstance, deps: AppDeps) => {
  const serving = deps.serving;
  if (serving === undefined) return;
  // keel's version for `GET /v2`, read when the app is built (src/ and dist/ sit at the same depth).
  const { version } = createRequire(import.meta.url)("../../../package.json") as { version: string };

  await app.register(
    (oip, _opts, done) => {
      oipErrors(oip);
      oipMetadataRoutes(oip, serving, version);
      oipInferRoutes(oip, serving);
      done();
    },
    { prefix: "/v2" },
  );
  // MLflow scoring protocol: JSON or CSV bodies; errors keep the app's MLflow error shape.
  await app.register((mlflow, _opts, done) => {
    mlflowScoringRoutes(mlflow, serving);
    done();
  });
  // keel's predict API, the hot path for single-record requests: its own scope with a plain JSON
  // parser, no async hop in the handler, the answer written as JSON text.
  await app.register((hot, _opts, done) => {
    keelPredictRoutes(hot, serving);
    done();
  });
  endpointRoutes(app, serving, deps.roles === undefined || deps.roles.includes("api"));
  metricsRoute(app, [
    serving.metrics.registry,
    ...(deps.monitoring === undefined ? [] : [deps.monitoring.metrics]),
    // The LLM gateway's series (guardrail triggers …) are exposed on the same page.
    ...(deps.llm?.gateway === undefined ? [] : [deps.llm.gateway.metrics]),
  ]);
};

/** Prometheus `/metrics`: serving's series, and monitoring's figures when the app monitors. */
export function metricsRoute(app: FastifyInstance, registries: readonly Registry[]): void {
  const registry = registries.length === 1 ? registries[0]! : Registry.merge([...registries]);
  app.get("/metrics", async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}

/** OIP scope: the spec's error body is {"error": "..."}; every 4xx/5xx from these routes uses it. */
function oipErrors(oip: FastifyInstance): void {
  oip.setErrorHandler((raw, request, reply) => {
    const { status, body } = oipError(raw);
    if (status >= 500) request.log.error({ err: raw }, "inference request failed");
    return reply.status(status).send(body);
  });
  oip.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: `no endpoint ${request.method} ${request.url.split("?")[0] ?? ""}` }),
  );
}

function oipMetadataRoutes(oip: FastifyInstance, serving: ModelServer, version: string): void {
  oip.get("/", () => ({ name: SERVER_NAME, version, extensions: [BINARY_TENSOR_EXTENSION] }));
  oip.get("/health/live", () => ({ live: true }));
  // Beyond the spec's {ready}: each endpoint's readiness, and why a model failed to load.
  oip.get("/health/ready", (_req, reply) => {
    const ready = serving.ready;
    return reply.status(ready ? 200 : 503).send({ ready, models: serving.listEndpoints().map(modelReadiness) });
  });

  oip.get<{ Params: NameParams }>("/models/:name", async (req) => {
    const m = serving.endpointModel(req.params.name);
    // An endpoint serving by entity key takes its join keys (any datatype; BYTES always fits) and request fields.
    const request = await serving.requestSignature(req.params.name, m.signature);
    const inputs = [
      ...request.joinKeys.map((name) => ({ name, type: "string" as const, nullable: false })),
      ...request.signature.inputs,
    ];
    return modelMetadata(req.params.name, await serving.versions(m.name), m.predictor.format, {
      inputs,
      outputs: m.signature.outputs,
    });
  });
  oip.get<{ Params: VersionParams }>("/models/:name/versions/:version", async (req) => {
    const m = await serving.versionModel(req.params.name, req.params.version);
    return modelMetadata(req.params.name, [m.version], m.predictor.format, m.signature);
  });
  oip.get<{ Params: NameParams }>("/models/:name/ready", (req, reply) => {
    const name = req.params.name;
    if (!serving.hasEndpoint(name)) throw new NotFoundError(`model ${JSON.stringify(name)} is not served`);
    const endpoint = serving.listEndpoints().find((e) => e.name === name);
    const state = endpoint === undefined ? { name, ready: false } : modelReadiness(endpoint);
    return reply.status(state.ready ? 200 : 503).send(state);
  });
  // A version that cannot be loaded is not ready, with the load error as the reason.
  oip.get<{ Params: VersionParams }>("/models/:name/versions/:version/ready", async (req, reply) => {
    const name = req.params.name;
    try {
      await serving.versionModel(name, req.params.version);
    } catch (e) {
      const { error, status } = toKeelError(e);
      // An unknown or malformed version is the request's error; a version that fails to load is "not ready".
      if (status === 404 || error.details?.field === "version") throw e;
      return reply.status(503).send({ name, ready: false, reason: error.message });
    }
    return { name, ready: true };
  });
}

/** One endpoint's readiness as `/v2/.../ready` reports it: the load error's reason while it fails. */
function modelReadiness(e: EndpointSummary): {
  name: string;
  ready: boolean;
  required: boolean;
  reason?: string;
  retry_at?: string;
} {
  return {
    name: e.name,
    ready: e.ready,
    required: e.required,
    ...(e.loadError === undefined ? {} : { reason: e.loadError.reason, retry_at: e.loadError.retryAt }),
  };
}
/**
 * Scoring routes need the `predictor` role: scoring writes decision records but changes no model,
 * endpoint or setting, so a service that only scores holds a token that can do nothing else.
 */
const SCORING = { config: { role: "predictor" as const } };

function oipInferRoutes(oip: FastifyInstance, serving: ModelServer): void {
  // Whatever the content type (JSON with a charset, none, curl -d's form label, octet-stream), the
  // body is a JSON inference request, followed by binary tensors when Inference-Header-Content-Length says so.
  oip.removeAllContentTypeParsers();
  oip.addContentTypeParser("*", { parseAs: "buffer" }, (req, body, done) => {
    try {
      done(null, inferRequestDocument(body as Buffer, header(req.headers, INFERENCE_HEADER_LENGTH)));
    } catch (e) {
      done(e as Error);
    }
  });
  // The infer routes are the hot path: no async hop of their own, the answer written as JSON text.
  const infer = (req: FastifyRequest, reply: FastifyReply, name: string, pinned: string | undefined): void => {
    oipInfer(serving, name, pinned, req.body, req).then(
      (answer) => sendInferAnswer(reply, answer),
      (e: unknown) => reply.send(e),
    );
  };
  oip.post<{ Params: NameParams }>("/models/:name/infer", SCORING, (req, reply) =>
    infer(req, reply, req.params.name, undefined),
  );
  oip.post<{ Params: VersionParams }>("/models/:name/versions/:version/infer", SCORING, (req, reply) =>
    infer(req, reply, req.params.name, req.params.version),
  );
}

function sendInferAnswer(reply: FastifyReply, answer: InferAnswer): void {
  if ("json" in answer) {
    sendJson(reply, answer.json);
    return;
  }
  void reply
    .header(INFERENCE_HEADER_LENGTH, answer.binary.headerLength)
    .type("application/octet-stream")
    .send(answer.binary.body);
}

function mlflowScoringRoutes(mlflow: FastifyInstance, serving: ModelServer): void {
  mlflow.addContentTypeParser(["text/csv"], { parseAs: "string" }, (_req, body, done) => done(null, body));
  mlflow.get("/ping", (_req, reply) =>
    reply
      .status(serving.ready ? 200 : 503)
      .type("application/json")
      .send("\n"),
  );
  mlflow.removeContentTypeParser("application/json");
  mlflow.addContentTypeParser("application/json", { parseAs: "string" }, parseJsonBody);
  mlflow.post<{ Querystring: { endpoint?: string } }>("/invocations", SCORING, (req, reply) => {
    attempt(() => {
      const name = invocationEndpoint(serving, req.query.endpoint ?? header(req.headers, "x-keel-endpoint"));
      const model = serving.endpointModel(name);
      const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
      const input =
        type === "text/csv" ? decodeInvocationsCsv(String(req.body)) : decodeInvocationsJson(req.body, model.signature);
      return serving
        .predict(name, input.table, {
          requestId: header(req.headers, "x-request-id") ?? newRequestId(),
          protocol: "mlflow",
          caller: callerName(req.principal),
          ...optionalEntity(entityFrom(req.headers, input.params)),
        })
        .then((r) => {
          reply.header("x-keel-route", r.route).header("x-keel-model-version", r.modelVersion);
          if (r.reviews) reply.header("x-keel-review", "pending");
          sendJson(reply, mlflowPredictionsJson(r.scores));
        });
    }).catch((e: unknown) => reply.send(e));
  });
}

function keelPredictRoutes(hot: FastifyInstance, serving: ModelServer): void {
  hot.removeContentTypeParser("application/json");
  hot.addContentTypeParser("application/json", { parseAs: "string" }, parseJsonBody);
  hot.post<{ Params: NameParams }>("/api/keel/endpoints/:name/predict", SCORING, (req, reply) => {
    keelPredict(serving, req.params.name, req.body, req).then(
      (json) => sendJson(reply, json),
      (e: unknown) => reply.send(e),
    );
  });
}

/** The endpoints API; changing endpoints is an `api` replica's. */
function endpointRoutes(app: FastifyInstance, serving: ModelServer, changes: boolean): void {
  app.get("/api/keel/endpoints", () => ({ endpoints: serving.listEndpoints() }));
  if (!changes) return;
  app.put<{ Params: NameParams }>("/api/keel/endpoints/:name", async (req) => {
    const body = req.body;
    const input =
      body !== null && typeof body === "object" && !Array.isArray(body) ? { ...body, name: req.params.name } : body;
    await serving.saveEndpoint(input, actorOf(req).userId, (config) => {
      if (championOverridden(config)) {
        requireRole(req, "approver", "an endpoint whose champion is not the model's champion alias");
      }
      // A challenger answering most requests is the champion in all but name.
      if ((config.challenger?.percent ?? 0) > 50) {
        requireRole(req, "approver", "an endpoint whose challenger answers more than 50% of requests");
      }
    });
    return { endpoint: serving.listEndpoints().find((e) => e.name === req.params.name) };
  });
  app.delete<{ Params: NameParams }>("/api/keel/endpoints/:name", async (req) => {
    await serving.deleteEndpoint(req.params.name, actorOf(req).userId);
    return {};
  });
}

/** `mlflow models serve` has one model; keel picks the only endpoint, or the one named by `?endpoint=`. */
function invocationEndpoint(serving: ModelServer, requested: string | undefined): string {
  if (requested !== undefined) return requested;
  const all = serving.listEndpoints();
  if (all.length === 1) return (all[0] as { name: string }).name;
  throw new InvalidParameterError(
    `endpoint: ${all.length} endpoints are served (${all.map((e) => e.name).join(", ")}); name one with ?endpoint=NAME or the x-keel-endpoint header`,
    { details: { field: "endpoint", rule: "required when more than one endpoint is served" } },
  );
}
