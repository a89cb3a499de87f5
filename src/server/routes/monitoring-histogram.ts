import type { FastifyRequest } from "fastify";
import { UnavailableError } from "../../errors.js";
import { featureHistogram, scoreHistograms } from "../../monitoring/index.js";
import { specError } from "../../spec-fields.js";
import type { FeatureHistogramJson, ScoreHistogramsJson } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { time } from "./monitoring.js";

/** The query fields both histograms take: model, [from, to), and optionally version and endpoint. */
function windowed(input: Input) {
  const model = input.requiredString("model");
  const from = time(input, "from");
  const to = time(input, "to");
  if (from === undefined) throw specError("from", undefined, "is required (ISO-8601 or epoch ms)");
  if (to === undefined) throw specError("to", undefined, "is required (ISO-8601 or epoch ms)");
  if (to <= from) throw specError("to", input.string("to"), "must be after from");
  const version = input.string("version");
  const endpoint = input.string("endpoint");
  return {
    modelName: model,
    windowStart: from,
    windowEnd: to,
    ...(version === undefined || version === "" ? {} : { version }),
    ...(endpoint === undefined || endpoint === "" ? {} : { endpoint }),
  };
}

/**
 * A feature's histogram in one window against its reference (reader): the drift heatmap's
 * click-through; and the score's histogram per window against its reference: the score
 * distribution over time.
 */
export const monitoringHistogramRoutes: RoutePlugin = (app, deps) => {
  const jobs = () => {
    if (deps.monitoring === undefined) throw new UnavailableError("monitoring is not configured on this server");
    return deps.monitoring.jobs;
  };
  app.get("/api/keel/monitoring/histogram", async (req: FastifyRequest): Promise<FeatureHistogramJson> => {
    const input = Input.of(req);
    const feature = input.requiredString("feature");
    const q = windowed(input);
    const h = await featureHistogram(jobs(), { ...q, feature });
    const from = q.windowStart;
    const to = q.windowEnd;
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

  app.get("/api/keel/monitoring/score-histograms", async (req: FastifyRequest): Promise<ScoreHistogramsJson> => {
    const input = Input.of(req);
    const windowMs = input.requiredInteger("window_ms", { min: 1000 });
    const h = await scoreHistograms(jobs(), { ...windowed(input), windowMs });
    return {
      model: h.model,
      version: h.version,
      output: h.output,
      labels: [...h.labels],
      reference: [...h.reference],
      windows: h.windows.map((w) => ({
        window_start: new Date(w.windowStart).toISOString(),
        window_end: new Date(w.windowEnd).toISOString(),
        rows: w.rows,
        missing: w.rows - w.current.reduce((a, b) => a + b, 0),
        current: [...w.current],
      })),
    };
  });
};
