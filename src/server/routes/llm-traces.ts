import type { FastifyInstance } from "fastify";
import { decodeOtlpProtobuf, otlpProtobufResponse, otlpSpans } from "../../llm/index.js";
import type { TraceSearchRequest } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { actorOf } from "./mlflow-common.js";
import { traceDetailJson, traceQuery, traceSummaryJson } from "../llm-json.js";

const OTLP_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * LLM traces: OTLP/HTTP ingestion at `POST /v1/traces` (protobuf or JSON; what any OpenTelemetry
 * SDK's OTLP HTTP exporter sends), search and read at `/api/keel/traces`, and feedback on a trace.
 */
export const llmTraceRoutes: RoutePlugin = async (app, { stores, llm }) => {
  const traces = stores.traces;
  if (traces === undefined) return;
  const prices = llm?.config?.prices ?? {};

  await app.register((scope: FastifyInstance, _opts, done) => {
    scope.addContentTypeParser(
      "application/x-protobuf",
      { parseAs: "buffer", bodyLimit: OTLP_BODY_LIMIT },
      (_req, body, next) => next(null, body),
    );
    scope.post("/v1/traces", { bodyLimit: OTLP_BODY_LIMIT, config: { role: "writer" } }, async (req, reply) => {
      if (Buffer.isBuffer(req.body)) {
        const { request, idEncoding } = decodeOtlpProtobuf(req.body);
        await traces.writeSpans(otlpSpans(request, idEncoding, prices));
        return reply.type("application/x-protobuf").send(Buffer.from(otlpProtobufResponse()));
      }
      await traces.writeSpans(otlpSpans(req.body, "hex", prices));
      return reply.type("application/json").send({});
    });
    done();
  });

  app.get("/api/keel/traces", async (req) => {
    const input = Input.of(req);
    const num = (f: string) => {
      const v = input.string(f);
      return v === undefined ? undefined : input.requiredDouble(f);
    };
    const request: TraceSearchRequest = {
      route: input.string("route"),
      prompt: input.string("prompt"),
      prompt_version: input.string("prompt_version"),
      user: input.string("user"),
      from: num("from"),
      to: num("to"),
      min_cost: num("min_cost"),
      max_cost: num("max_cost"),
      min_latency_ms: num("min_latency_ms"),
      max_latency_ms: num("max_latency_ms"),
      guardrail: input.string("guardrail"),
      max_results: input.integer("max_results", { min: 1, max: 1000 }),
      page_token: input.string("page_token"),
    };
    const query = traceQuery(request);
    const page = await traces.searchTraces(query);
    return {
      traces: page.items.map(traceSummaryJson),
      ...(page.nextPageToken === undefined ? {} : { next_page_token: page.nextPageToken }),
    };
  });

  app.get("/api/keel/traces/:trace_id", async (req) =>
    traceDetailJson(await traces.getTrace(Input.of(req).requiredString("trace_id"))),
  );

  app.post("/api/keel/traces/:trace_id/feedback", async (req) => {
    const input = Input.of(req);
    const comment = input.string("comment");
    const f = await traces.addFeedback({
      traceId: input.requiredString("trace_id"),
      score: input.requiredDouble("score"),
      ...(comment === undefined ? {} : { comment }),
      userId: actorOf(req, input.string("user")).userId,
    });
    return {
      feedback: {
        id: f.id,
        trace_id: f.traceId,
        score: f.score,
        ...(f.comment === undefined ? {} : { comment: f.comment }),
        user: f.userId,
        created_at: f.createdAt,
      },
    };
  });
};
