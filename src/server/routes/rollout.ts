import { InvalidParameterError, UnavailableError } from "../../errors.js";
import { DEFAULT_ROLLOUT_WINDOW_MS, modelRolloutReport } from "../../monitoring/index.js";
import { specError } from "../../spec-fields.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { canaryApprovalJson, rolloutReportJson } from "../rollout-json.js";
import { approverOf } from "./keel-promotion.js";
import { time } from "./monitoring.js";

function probability(input: Input, field: string, low: "open" | "closed"): number | undefined {
  const text = input.string(field);
  if (text === undefined) return undefined;
  const v = Number(text);
  const ok = text.trim() !== "" && (low === "open" ? v > 0 && v < 1 : v >= 0 && v < 1);
  if (!ok)
    throw specError(
      field,
      Number.isFinite(v) ? v : text,
      low === "open" ? "must be a number in (0, 1)" : "must be a number in [0, 1)",
    );
  return v;
}

/**
 * Rollouts (docs/serving.md): the rollout report of a model's shadows, challengers and canaries
 * against its champion (reader), and the approval that lets a version's canary take 100% of
 * traffic and become champion (approver: the same role as a promotion, since it is one).
 */
export const rolloutRoutes: RoutePlugin = (app, { stores, clock }) => {
  const now = clock ?? Date.now;

  app.get<{ Params: { name: string } }>("/api/keel/models/:name/rollout-report", async (req) => {
    if (stores.labels === undefined || stores.inferenceLog === undefined)
      throw new UnavailableError("rollout report: this server has no inference log or label store configured");
    const input = Input.of(req);
    const to = time(input, "to") ?? now();
    const from = time(input, "from") ?? to - DEFAULT_ROLLOUT_WINDOW_MS;
    if (from >= to) throw specError("from", input.string("from") ?? from, "must be before to");
    const alpha = probability(input, "alpha", "open");
    const minEffect = probability(input, "min_effect", "closed");
    const report = await modelRolloutReport(
      { registry: stores.registry, inferenceLog: stores.inferenceLog, labels: stores.labels },
      {
        modelName: req.params.name,
        from,
        to,
        ...(alpha !== undefined ? { alpha } : {}),
        ...(minEffect !== undefined ? { minEffect } : {}),
      },
    );
    return rolloutReportJson(report);
  });

  app.post<{ Params: { name: string } }>(
    "/api/keel/models/:name/canary-approval",
    { config: { role: "approver" } },
    async (req) => {
      const canaries = stores.canaries;
      if (canaries === undefined) throw new UnavailableError("canary approval: this server has no canary store");
      const input = Input.of(req);
      const name = req.params.name;
      const version = input.requiredString("version");
      const reason = input.requiredString("reason").trim();
      if (reason === "") {
        throw new InvalidParameterError("reason must be a non-empty string", {
          details: { field: "reason", value: reason, rule: "must be a non-empty string" },
        });
      }
      // The version must exist: NotFoundError (404) otherwise.
      await stores.registry.getModelVersion(name, version);
      const approval = await canaries.approve({
        modelName: name,
        modelVersion: version,
        approver: approverOf(req, input),
        reason,
      });
      return canaryApprovalJson(approval);
    },
  );
};
