import Fastify from "fastify";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppDeps } from "./app-deps.js";
import { installAuth } from "./auth.js";
import { createObjectAccess } from "./object-permissions.js";
import { installErrorHandling, sendError } from "./errors.js";
import { parseJsonBody } from "./json-body.js";
import { InvalidParameterError } from "../errors.js";
import { REQUEST_LIMITS } from "../spec-fields.js";
import { routes } from "./routes/index.js";
import { healthRoutes } from "./routes/health.js";
import { llmGatewayRoutes } from "./routes/llm-gateway.js";
import { servingRoutes } from "./routes/serving.js";

/** The route files of a replica without the `api` role. */
const SCORING_ROUTES: ReadonlySet<unknown> = new Set([healthRoutes, servingRoutes, llmGatewayRoutes]);

export type { AppDeps, AppStores, RoutePlugin } from "./app-deps.js";

/**
 * Fastify's own limits, set to keel's (docs/api.md): MLflow's log-batch at its limits is well under
 * the body limit. Errors Fastify raises before routing (a bad URL, an over-long path segment) are
 * answered in keel's error format, as every other error is.
 */
const FASTIFY_OPTIONS = {
  bodyLimit: REQUEST_LIMITS.bodyBytes,
  routerOptions: { maxParamLength: REQUEST_LIMITS.pathParamChars },
  frameworkErrors: (error: Error & { code?: string }, req: FastifyRequest, reply: FastifyReply) => {
    const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
    const message = tooLong
      ? `request path: a path segment is longer than ${REQUEST_LIMITS.pathParamChars} characters`
      : "request path: not a valid URL";
    const rule = tooLong ? `at most ${REQUEST_LIMITS.pathParamChars} characters per segment` : "valid URL";
    const status = tooLong ? 414 : 400;
    // The Open Inference Protocol's routes answer in its own error shape.
    if (req.url.startsWith("/v2/")) void reply.status(status).send({ error: message });
    else void sendError(reply, new InvalidParameterError(message, { details: { field: "path", rule } }), status);
  },
};

export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = deps.logger
    ? Fastify({ loggerInstance: deps.logger, ...FASTIFY_OPTIONS })
    : Fastify({
        logger: deps.config.logLevel === "silent" ? false : { level: deps.config.logLevel },
        ...FASTIFY_OPTIONS,
      });
  const metadata = deps.stores.metadata;
  installErrorHandling(app, metadata === undefined ? undefined : (e) => metadata.translateError(e));
  // One JSON parser for every route: depth-capped and prototype-safe (json-body.ts).
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, parseJsonBody);
  const users = deps.stores.users;
  installAuth(app, deps.config.authEnabled, deps.stores.tokens, {
    openProbes: !deps.config.probesRequireAuth,
    ...(users === undefined
      ? {}
      : { users, objectAccess: createObjectAccess({ users, tracking: deps.stores.tracking }) }),
  });
  // Without the `api` role only the scoring routes are registered (the UI and the management API are not).
  const api = deps.roles === undefined || deps.roles.includes("api");
  for (const plugin of api ? routes : routes.filter((r) => SCORING_ROUTES.has(r))) {
    // Route files share the root context so the error handler and auth hooks apply to all of them.
    await plugin(app, deps);
  }
  await app.ready();
  return app;
}
