import type { FastifyRequest } from "fastify";
import { UnavailableError } from "../../errors.js";
import { featureHistogram } from "../../monitoring/index.js";
import { specError } from "../../spec-fields.js";
import type { FeatureHistogramJson } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { time } from "./monitoring.js";

/** A feature's histogram in one window against its reference (reader): the drift heatmap's click-through. */
export const monitoringHistogramRoutes: RoutePlugin = (app, deps) => {
  app.get("/api/keel/monitoring/histogram", async (req: FastifyRequest): Promise<FeatureHistogramJson> => {
    if (deps.monitoring === undefined) throw new UnavailableError("monitoring is not configured on this server");
    const input = Input.of(req);
    const model = input.requiredString("model");
    const feature = input.requiredString("feature");
    const from = time(input, "from");
    const to = time(input, "to");
    if (from === undefined) throw specError("from", undefined, "is required (ISO-8601 or epoch ms)");
    if (to === undefined) throw specError("to", undefined, "is required (ISO-8601 or epoch ms)");
    if (to <= from) throw specError("to", input.string("to"), "must be after from");
    const version = input.string("version");
    const endpoint = input.string("endpoint");
    const h = await featureHistogram(deps.monitoring.jobs, {
      modelName: model,
      feature,
      windowStart: from,
      windowEnd: to,
      ...(version === undefined || version === "" ? {} : { version }),
      ...(endpoint === undefined || endpoint === "" ? {} : { endpoint }),
    });
    return {
      model: h.model,
      version: h.version,
      feature: h.feature,
      kind: h.kind,
      labels: [...h.labels],
      reference: [...h.reference],
      current: [...h.current],
      current_rows: h.currentRows,
      current_nulls: h.currentNulls,
      window_start: new Date(from).toISOString(),
      window_end: new Date(to).toISOString(),
    };
  });
};
