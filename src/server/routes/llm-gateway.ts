import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Gateway, GatewayReply } from "../../llm/index.js";
import type { RoutePlugin } from "../app-deps.js";

/**
 * The LLM gateway in OpenAI's wire format: `POST /api/keel/llm/{route}/v1/chat/completions` and
 * `/v1/embeddings`, so OpenAI clients work with `baseURL = {server}/api/keel/llm/{route}/v1`.
 * Errors, the gateway's own included, come back in OpenAI's shape (`{ error: { message, type,
 * param, code } }`). Registered when the server has an LLM config with routes.
 */
export const llmGatewayRoutes: RoutePlugin = async (app, { llm, serving, monitoring }) => {
  const gateway = llm?.gateway;
  if (gateway === undefined) return;
  // With model serving or monitoring on, their `/metrics` page carries the gateway's series too.
  if (serving === undefined && monitoring === undefined) {
    app.get("/metrics", async (_req, reply) =>
      reply.type(gateway.metrics.contentType).send(await gateway.metrics.metrics()),
    );
  }
  // In a scope of its own: a chat body is parsed as JSON here whatever other scopes do.
  await app.register((scope: FastifyInstance, _opts, done) => {
    const send = (reply: FastifyReply, r: GatewayReply) => {
      if ("sse" in r) {
        return reply
          .status(200)
          .header("content-type", "text/event-stream; charset=utf-8")
          .header("cache-control", "no-cache")
          .send(Readable.from(r.sse));
      }
      return reply.status(r.status).send(r.json);
    };
    const call = (req: FastifyRequest<{ Params: { route: string } }>) => ({
      route: req.params.route,
      body: req.body,
      ...(req.principal === undefined ? {} : { principal: req.principal.name }),
    });
    const g: Gateway = gateway;
    scope.post<{ Params: { route: string } }>(
      "/api/keel/llm/:route/v1/chat/completions",
      { bodyLimit: 16 * 1024 * 1024 },
      async (req, reply) => send(reply, await g.chatCompletions(call(req))),
    );
    scope.post<{ Params: { route: string } }>(
      "/api/keel/llm/:route/v1/embeddings",
      { bodyLimit: 16 * 1024 * 1024 },
      async (req, reply) => send(reply, await g.embeddings(call(req))),
    );
    done();
  });
};
