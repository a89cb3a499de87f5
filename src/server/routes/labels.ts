import { InvalidParameterError, UnavailableError } from "../../errors.js";
import { championThreshold, ingestLabels, evaluatePerformance } from "../../monitoring/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { parseLabelItems, parseWindow, performanceJson } from "../labels-json.js";
import { actorOf } from "./mlflow-common.js";

/**
 * Delayed labels and rolling performance (docs/monitoring.md): `POST /api/keel/labels` stores labels
 * (writer role) and answers how many joined to a logged prediction; `GET
 * /api/keel/monitoring/performance` computes a window's metrics on demand (reader role).
 */
export const labelRoutes: RoutePlugin = (app, { stores, clock }) => {
  const now = clock ?? Date.now;
  const sources = () => {
    if (stores.labels === undefined || stores.inferenceLog === undefined) {
      throw new UnavailableError("labels: this server has no label store or inference log configured");
    }
    return { labels: stores.labels, inferenceLog: stores.inferenceLog };
  };

  app.post("/api/keel/labels", async (req) => {
    const input = Input.of(req);
    const source = input.string("source") ?? "api";
    if (source === "" || source.length > 255) {
      throw new InvalidParameterError(
        `source ${JSON.stringify(source)} must be a non-empty string of at most 255 characters`,
        {
          details: { field: "source", value: source, rule: "non-empty, at most 255 characters" },
        },
      );
    }
    const positive = input.string("positive");
    const labels = parseLabelItems(input.rawValue("labels"), {
      source,
      ...(positive !== undefined ? { positive } : {}),
    });
    return ingestLabels(sources().labels, labels, { actor: actorOf(req).userId });
  });

  app.get("/api/keel/monitoring/performance", async (req) => {
    const input = Input.of(req);
    const modelName = input.requiredString("model");
    const windowDays = parseWindow(input.string("window") ?? "7d");
    const segment = input.string("segment");
    const asOf = input.integer("as_of", { min: 0 }) ?? now();
    const thresholdText = input.string("threshold");
    const threshold = thresholdText === undefined ? undefined : Number(thresholdText);
    if (threshold !== undefined && !(thresholdText !== "" && Number.isFinite(threshold))) {
      throw new InvalidParameterError(`threshold ${JSON.stringify(thresholdText)} must be a number`, {
        details: { field: "threshold", value: thresholdText, rule: "must be a number" },
      });
    }
    // Without a threshold the champion's stored one applies (keel evaluate --set-threshold).
    const decided = threshold ?? (await championThreshold(stores.registry, modelName));
    const report = await evaluatePerformance(sources(), {
      modelName,
      asOf,
      windowDays,
      ...(segment !== undefined && segment !== "" ? { segment } : {}),
      ...(decided !== undefined ? { threshold: decided } : {}),
    });
    return performanceJson(report);
  });
};
