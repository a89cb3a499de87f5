import type { FastifyRequest } from "fastify";
import { InvalidParameterError } from "../../errors.js";
import { promoteAlias, rollbackAlias } from "../../registry/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { aliasMoveJson } from "../mlflow-json.js";
import { actorOf } from "./mlflow-common.js";

/**
 * The approver: the caller's token name when auth is on (a different `approver` in the body is
 * refused, so nobody approves in someone else's name); otherwise the body's `approver`.
 */
export function approverOf(req: FastifyRequest, input: Input): string {
  const claimed = input.string("approver");
  const principal = req.principal?.name;
  if (principal === undefined) return claimed === undefined || claimed === "" ? "anonymous" : claimed;
  if (claimed !== undefined && claimed !== "" && claimed !== principal) {
    throw new InvalidParameterError(
      `approver ${JSON.stringify(claimed)} does not match the caller: with auth on, the approver is the token's name (${JSON.stringify(principal)})`,
      { details: { field: "approver", value: claimed, rule: "must be the caller's token name" } },
    );
  }
  return principal;
}

/**
 * Promotion and rollback (`/api/keel/models/{name}/promote|rollback`): moving a serving alias is a
 * human decision, so both need the approver role when auth is on, and both record who and why.
 */
export const keelPromotionRoutes: RoutePlugin = (app, { stores }) => {
  const registry = stores.registry;
  const approver = { role: "approver" as const };

  app.post("/api/keel/models/:name/promote", { config: approver }, async (req) => {
    const input = Input.of(req);
    const name = input.requiredString("name");
    const move = await promoteAlias(registry, {
      name,
      version: input.requiredString("version"),
      alias: input.string("to") ?? "champion",
      approver: approverOf(req, input),
      reason: input.requiredString("reason"),
    });
    return aliasMoveJson(move, await registry.getModelVersion(name, move.toVersion));
  });

  app.post("/api/keel/models/:name/rollback", { config: approver }, async (req) => {
    const input = Input.of(req);
    const name = input.requiredString("name");
    const reason = input.string("reason");
    const move = await rollbackAlias(registry, {
      name,
      alias: input.string("alias") ?? "champion",
      actor: actorOf(req, input.string("actor")).userId,
      ...(reason === undefined || reason === "" ? {} : { reason }),
    });
    return aliasMoveJson(move, await registry.getModelVersion(name, move.toVersion));
  });
};
