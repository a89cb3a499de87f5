import type { FastifyRequest } from "fastify";
import { UnavailableError } from "../../errors.js";
import { alertJson } from "../../monitoring/index.js";
import { specError } from "../../spec-fields.js";
import type { LlmMonitorRunJson } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { observationJson, time } from "./monitoring.js";

/**
 * One monitor window of an LLM gateway route on demand (docs/llm.md, "Monitoring"): the judge's
 * sample, review routing, the window's `llm` observations, then the alert rules for the route.
 * The observations are read like any model's (`GET /api/keel/monitoring/observations?model=ROUTE&kind=llm`).
 */
export const llmMonitoringRoutes: RoutePlugin = (app, deps) => {
  app.post("/api/keel/llm/monitoring/run", async (req: FastifyRequest) => {
    const input = Input.of(req);
    const route = input.requiredString("route");
    const from = time(input, "from");
    const to = time(input, "to");
    if (from === undefined) throw specError("from", undefined, "is required (ISO-8601 time or epoch milliseconds)");
    if (to === undefined) throw specError("to", undefined, "is required (ISO-8601 time or epoch milliseconds)");
    if (to <= from) throw specError("to", input.string("to"), "must be after from");
    const monitoring = deps.monitoring;
    if (monitoring?.llmWindow === undefined)
      throw new UnavailableError("LLM monitoring needs the server started with an LLM config (--llm-config)");
    const result = await monitoring.llmWindow(route, { start: from, end: to });
    const alerts = await monitoring.alerts.evaluate(route);
    return {
      route,
      window_start: new Date(from).toISOString(),
      window_end: new Date(to).toISOString(),
      requests: result.requests,
      judged: result.judgedNow,
      judge_errors: result.judgeErrors,
      queued_for_review: result.queuedForReview,
      observations: result.observations.map(observationJson),
      alerts_fired: alerts.fired.map(alertJson),
      alerts_resolved: alerts.resolved.map(alertJson),
    } satisfies LlmMonitorRunJson;
  });
};
