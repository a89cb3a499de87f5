import type { FastifyRequest } from "fastify";
import type { RegistryStore } from "../registry/index.js";
import type { ModelServer } from "../serving/index.js";
import { requireRole } from "./auth.js";

/**
 * What decides which version answers a model's requests: the `champion` alias, any alias a
 * configured endpoint's champion follows instead, and the version in stage Production. Changing
 * any of them (moving, deleting, renaming or archiving what they name) needs the approver role, so
 * that no writer can make an unapproved version answer as champion by a side route.
 */
export class ChampionGuard {
  constructor(
    private readonly registry: RegistryStore,
    private readonly serving: ModelServer | undefined,
  ) {}

  /** Aliases of `model` that put a version in front of customers, lower-cased. */
  servedAliases(model: string): Set<string> {
    const aliases = new Set(["champion"]);
    for (const a of this.serving?.championAliases(model) ?? []) aliases.add(a.toLowerCase());
    return aliases;
  }

  /** Setting or deleting `alias` of `model`. */
  alias(req: FastifyRequest, model: string, alias: string, doing: "setting" | "deleting"): void {
    if (this.servedAliases(model).has(alias.toLowerCase())) {
      requireRole(req, "approver", `${doing} alias '${alias}', which decides what answers as champion`);
    }
  }

  /** Renaming or deleting a registered model: guarded while one of its versions answers as champion. */
  async model(req: FastifyRequest, model: string, doing: string): Promise<void> {
    if (!req.authEnabled) return;
    const found = await this.registry.getRegisteredModel(model);
    const served = this.servedAliases(model);
    if (found.aliases.some((a) => served.has(a.alias.toLowerCase()))) {
      requireRole(req, "approver", `${doing} model '${model}', whose champion answers requests`);
    }
  }

  /** Deleting a version, or moving it to `toStage`: guarded for the champion's and Production's version. */
  async version(req: FastifyRequest, model: string, version: string, doing: string): Promise<void> {
    if (!req.authEnabled) return;
    const mv = await this.registry.getModelVersion(model, version);
    const served = this.servedAliases(model);
    if (mv.currentStage === "Production" || mv.aliases.some((a) => served.has(a.toLowerCase()))) {
      requireRole(
        req,
        "approver",
        `${doing} version ${version} of '${model}', which answers as champion or is in Production`,
      );
    }
  }
}
