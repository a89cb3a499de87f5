import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from "fastify";
import type { Actor } from "../../tracking/index.js";
import type { Role } from "../auth.js";
import { Input } from "../input.js";

/** MLflow serves its API twice: `/api/2.0/mlflow/...` for clients and `/ajax-api/...` for its UI. */
export const MLFLOW_PREFIXES = ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] as const;

export type MlflowHandler = (input: Input, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * Registers one MLflow endpoint under both prefixes. The handler gets the request's parameters
 * (JSON body or query string, as MLflow accepts them) and returns the response object.
 */
export function mlflowRoute(
  app: FastifyInstance,
  methods: HTTPMethods | HTTPMethods[],
  path: string,
  handler: MlflowHandler,
  options: { role?: Role; prefixes?: readonly string[] } = {},
): void {
  for (const prefix of options.prefixes ?? MLFLOW_PREFIXES) {
    app.route({
      method: methods,
      url: prefix + path,
      config: options.role === undefined ? {} : { role: options.role },
      handler: async (req, reply) => {
        const result = await handler(Input.of(req), req, reply);
        return reply.sent ? reply : result;
      },
    });
  }
}

/** Who did it, for the audit log: the token's name when auth is on. */
export function actorOf(req: FastifyRequest, fallback?: string): Actor {
  const name = req.principal?.name ?? fallback;
  return { userId: name === undefined || name === "" ? "anonymous" : name };
}
