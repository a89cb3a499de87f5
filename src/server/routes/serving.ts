import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidParameterError, NotFoundError } from "../../errors.js";
import {
  decodeInferRequest,
  decodeInvocationsCsv,
  decodeInvocationsJson,
  encodeInferResponse,
  modelMetadata,
  parseEndpointConfig,
  tableFromRecords,
  type ModelServer,
  type PredictionResult,
} from "../../serving/index.js";
import type { AppDeps, RoutePlugin } from "../app.js";
import { toKeelError } from "../errors.js";

const SERVER_NAME = "keel";

type NameParams = { name: string };
type VersionParams = { name: string; version: string };

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function entityFrom(
  req: FastifyRequest,
  parameters: Readonly<Record<string, unknown>> | undefined,
): string | undefined {
  const p = parameters?.entity_id;
  if (typeof p === "string" || typeof p === "number") return String(p);
  return header(req, "x-keel-entity-id");
}

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

  // OIP scope: the spec's error body is {"error": "..."}; every 4xx/5xx from these routes uses it.
  await app.register(
    (oip, _opts, done) => {
      oip.setErrorHandler((raw, request, reply) => {
        const { error, status } = toKeelError(raw);
        if (status >= 500) request.log.error({ err: raw }, "inference request failed");
        return reply.status(status).send({ error: error.message });
      });
      oip.setNotFoundHandler((request, reply) =>
        reply.status(404).send({ error: `no endpoint ${request.method} ${request.url.split("?")[0] ?? ""}` }),
      );

      oip.get("/", () => ({ name: SERVER_NAME, version, extensions: [] }));
      oip.get("/health/live", () => ({ live: true }));
      oip.get("/health/ready", (_req, reply) => {
        const ready = serving.ready;
        return reply.status(ready ? 200 : 503).send({ ready });
      });

      oip.get<{ Params: NameParams }>("/models/:name", async (req) => {
        const m = serving.endpointModel(req.params.name);
        return modelMetadata(req.params.name, await serving.versions(m.name), m.predictor.format, m.signature);
      });
      oip.get<{ Params: VersionParams }>("/models/:name/versions/:version", async (req) => {
        const m = await serving.versionModel(req.params.name, req.params.version);
        return modelMetadata(req.params.name, [m.version], m.predictor.format, m.signature);
      });
      oip.get<{ Params: NameParams }>("/models/:name/ready", (req, reply) => {
        const name = req.params.name;
        if (!serving.hasEndpoint(name)) throw new NotFoundError(`model ${JSON.stringify(name)} is not served`);
        const ready = serving.listEndpoints().find((e) => e.name === name)?.ready ?? false;
        return reply.status(ready ? 200 : 503).send({ name, ready });
      });
      oip.get<{ Params: VersionParams }>("/models/:name/versions/:version/ready", async (req) => {
        await serving.versionModel(req.params.name, req.params.version);
        return { name: req.params.name, ready: true };
      });

      const infer = async (req: FastifyRequest, reply: FastifyReply, name: string, pinned: string | undefined) => {
        const model = pinned === undefined ? serving.endpointModel(name) : await serving.versionModel(name, pinned);
        const decoded = decodeInferRequest(req.body, model.signature);
        const ctx = {
          requestId: decoded.id ?? header(req, "x-request-id") ?? randomUUID(),
          protocol: "oip",
          ...optionalEntity(entityFrom(req, decoded.parameters)),
        };
        const r =
          pinned === undefined
            ? await serving.predict(name, decoded.table, ctx)
            : await serving.predictVersion(name, pinned, decoded.table, ctx);
        return reply.send(
          encodeInferResponse({
            modelName: r.modelName,
            modelVersion: r.modelVersion,
            id: r.requestId,
            signature: model.signature,
            scores: r.scores,
            outputs: decoded.outputs,
            parameters: { route: r.route, ...(r.fallback ? { fallback: r.fallback } : {}) },
          }),
        );
      };
      oip.post<{ Params: NameParams }>("/models/:name/infer", (req, reply) =>
        infer(req, reply, req.params.name, undefined),
      );
      oip.post<{ Params: VersionParams }>("/models/:name/versions/:version/infer", (req, reply) =>
        infer(req, reply, req.params.name, req.params.version),
      );
      done();
    },
    { prefix: "/v2" },
  );

  // MLflow scoring protocol: JSON or CSV bodies; errors keep the app's MLflow error shape.
  await app.register((mlflow, _opts, done) => {
    mlflow.addContentTypeParser(["text/csv"], { parseAs: "string" }, (_req, body, done) => done(null, body));
    mlflow.get("/ping", (_req, reply) =>
      reply
        .status(serving.ready ? 200 : 503)
        .type("application/json")
        .send("\n"),
    );
    mlflow.post<{ Querystring: { endpoint?: string } }>("/invocations", async (req, reply) => {
      const name = invocationEndpoint(serving, req.query.endpoint ?? header(req, "x-keel-endpoint"));
      const model = serving.endpointModel(name);
      const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
      const input =
        type === "text/csv" ? decodeInvocationsCsv(String(req.body)) : decodeInvocationsJson(req.body, model.signature);
      const r = await serving.predict(name, input.table, {
        requestId: header(req, "x-request-id") ?? randomUUID(),
        protocol: "mlflow",
        ...optionalEntity(entityFrom(req, input.params)),
      });
      return reply
        .header("x-keel-route", r.route)
        .header("x-keel-model-version", r.modelVersion)
        .send({ predictions: Array.from(r.scores) });
    });
    done();
  });

  app.post<{ Params: NameParams }>("/api/keel/endpoints/:name/predict", async (req) => {
    const body = req.body;
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
    const name = req.params.name;
    const table = tableFromRecords(records, "records");
    const r = await serving.predict(name, table, {
      requestId: header(req, "x-request-id") ?? randomUUID(),
      protocol: "keel",
      ...optionalEntity(header(req, "x-keel-entity-id")),
    });
    return { request_id: r.requestId, predictions: predictions(serving, r) };
  });

  app.get("/api/keel/endpoints", () => ({ endpoints: serving.listEndpoints() }));
  app.put<{ Params: NameParams }>("/api/keel/endpoints/:name", async (req) => {
    const body = req.body;
    const input =
      body !== null && typeof body === "object" && !Array.isArray(body) ? { ...body, name: req.params.name } : body;
    await serving.putEndpoint(parseEndpointConfig(input));
    return { endpoint: serving.listEndpoints().find((e) => e.name === req.params.name) };
  });
  app.delete<{ Params: NameParams }>("/api/keel/endpoints/:name", async (req) => {
    await serving.deleteEndpoint(req.params.name);
    return {};
  });

  app.get("/metrics", async (_req, reply) =>
    reply.type(serving.metrics.contentType).send(await serving.metrics.text()),
  );
};

function optionalEntity(entityId: string | undefined): { entityId?: string } {
  return entityId === undefined ? {} : { entityId };
}

function predictions(
  serving: ModelServer,
  r: PredictionResult,
): { score: number; decision: string; model_version: string; route: string }[] {
  return Array.from(r.scores, (score) => ({
    score,
    decision: serving.decision(r.endpoint, score),
    model_version: r.modelVersion,
    route: r.route,
  }));
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
