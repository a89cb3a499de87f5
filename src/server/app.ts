import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import Fastify from "fastify";
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from "fastify";
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
import { ScoringFastPath } from "./scoring-fast-path.js";

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

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Fastify's own HTTP server (its timeouts as Fastify sets them) with the scoring fast path in front
 * of its handler; `fast()` is read per request, as the fast path exists only once the app is built.
 */
function serverWithFastPath(fast: () => ScoringFastPath | undefined) {
  return (handler: Handler, opts: FastifyServerOptions): Server => {
    const server = createServer((req, res) => {
      if (fast()?.handle(req, res, handler) !== true) handler(req, res);
    });
    server.keepAliveTimeout = opts.keepAliveTimeout as number;
    server.requestTimeout = opts.requestTimeout as number;
    server.setTimeout(opts.connectionTimeout as number);
    if ((opts.maxRequestsPerSocket ?? 0) > 0) server.maxRequestsPerSocket = opts.maxRequestsPerSocket as number;
    return server;
  };
}

export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  let fastPath: ScoringFastPath | undefined;
  const options = { ...FASTIFY_OPTIONS, serverFactory: serverWithFastPath(() => fastPath) };
  const app: FastifyInstance = deps.logger
    ? Fastify({ loggerInstance: deps.logger, ...options })
    : Fastify({ logger: deps.config.logLevel === "silent" ? false : { level: deps.config.logLevel }, ...options });
  const metadata = deps.stores.metadata;
  const translateError = metadata === undefined ? undefined : (e: unknown) => metadata.translateError(e);
  installErrorHandling(app, translateError);
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
  if (deps.serving !== undefined) {
    fastPath = new ScoringFastPath(
      {
        serving: deps.serving,
        auth: deps.config.authEnabled ? { verifier: deps.stores.tokens } : undefined,
        translateError,
      },
      app.log,
    );
    // Fastify logs every request at info: the fast path would skip those lines, so it stands aside.
    fastPath.enabled = !logsRequests(app.log);
    const path = fastPath;
    app.addHook("preClose", (done) => {
      path.enabled = false;
      done();
    });
  }
  await app.ready();
  return app;
}

function logsRequests(log: FastifyInstance["log"]): boolean {
  const enabled = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof enabled === "function" ? enabled.call(log, "info") : ["info", "debug", "trace"].includes(log.level);
}
