import Fastify from "fastify";
import type { FastifyInstance } from "fastify";
import type { AppDeps } from "./app-deps.js";
import { installAuth } from "./auth.js";
import { installErrorHandling } from "./errors.js";
import { createObjectAccess } from "./object-permissions.js";
import { routes } from "./routes/index.js";
import { healthRoutes } from "./routes/health.js";
import { llmGatewayRoutes } from "./routes/llm-gateway.js";
import { servingRoutes } from "./routes/serving.js";

/** The route files of a replica without the `api` role. */
const SCORING_ROUTES: ReadonlySet<unknown> = new Set([healthRoutes, servingRoutes, llmGatewayRoutes]);

export type { AppDeps, AppStores, RoutePlugin } from "./app-deps.js";

/** Body size limit: MLflow's log-batch at its limits is well under this. */
const BODY_LIMIT = 16 * 1024 * 1024;

export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = deps.logger
    ? Fastify({ loggerInstance: deps.logger, bodyLimit: BODY_LIMIT })
    : Fastify({
        logger: deps.config.logLevel === "silent" ? false : { level: deps.config.logLevel },
        bodyLimit: BODY_LIMIT,
      });
  installErrorHandling(app);
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
