import { InvalidParameterError } from "../../errors.js";
import type { FastifyInstance } from "fastify";
import type { DatasetInput, Metric, Tag, TrackingStore } from "../../tracking/index.js";
import { RUN_STATUSES, VIEW_TYPES } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import type { Input } from "../input.js";
import { MODEL_INPUT_TAG_PREFIX, MODEL_OUTPUT_TAG_PREFIX, metricJson, runInfoJson, runJson } from "../mlflow-json.js";
import { actorOf, mlflowRoute } from "./mlflow-common.js";

/** The tag in which MLflow keeps the models logged to a run (`runs/log-model`). */
const LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history";

export function tagOf(t: Input): Tag {
  return { key: t.requiredString("key"), value: t.string("value") ?? "" };
}

export function metricOf(m: Input): Metric {
  const modelId = m.string("model_id");
  const datasetName = m.string("dataset_name");
  const datasetDigest = m.string("dataset_digest");
  return {
    key: m.requiredString("key"),
    value: m.requiredDouble("value"),
    timestamp: m.requiredInteger("timestamp"),
    step: m.integer("step") ?? 0,
    // MLflow 3 links a metric to a logged model.
    ...(modelId === undefined || modelId === "" ? {} : { modelId }),
    // MLflow 3 names the dataset a value was computed on.
    ...(datasetName === undefined || datasetName === "" ? {} : { datasetName }),
    ...(datasetDigest === undefined || datasetDigest === "" ? {} : { datasetDigest }),
  };
}

function datasetInputOf(d: Input): DatasetInput {
  const ds = d.object("dataset");
  if (ds === undefined) throw new InvalidParameterError("Missing value for required parameter 'datasets[].dataset'");
  const schema = ds.string("schema");
  const profile = ds.string("profile");
  return {
    tags: d.objectList("tags").map(tagOf),
    dataset: {
      name: ds.requiredString("name"),
      digest: ds.requiredString("digest"),
      sourceType: ds.requiredString("source_type"),
      source: ds.requiredString("source"),
      ...(schema === undefined ? {} : { schema }),
      ...(profile === undefined ? {} : { profile }),
    },
  };
}

/** MLflow's runs and metrics API (`/mlflow/runs/...`, `/mlflow/metrics/get-history`). */
export const mlflowRunRoutes: RoutePlugin = (app, { stores }) => {
  const tracking = stores.tracking;
  const runId = (input: Input) => input.requiredStringOf("run_id", "run_uuid");

  mlflowRoute(app, "POST", "/runs/create", async (input, req) => {
    const runName = input.string("run_name");
    const userId = input.string("user_id");
    const startTime = input.integer("start_time");
    const run = await tracking.createRun(
      {
        experimentId: input.requiredString("experiment_id"),
        tags: input.objectList("tags").map(tagOf),
        ...(runName === undefined || runName === "" ? {} : { runName }),
        ...(userId === undefined || userId === "" ? {} : { userId }),
        ...(startTime === undefined ? {} : { startTime }),
      },
      actorOf(req, userId),
    );
    return { run: runJson(run) };
  });

  mlflowRoute(app, "POST", "/runs/update", async (input, req) => {
    const status = input.protoEnum("status", RUN_STATUSES);
    const endTime = input.integer("end_time");
    const runName = input.string("run_name");
    const info = await tracking.updateRun(
      runId(input),
      {
        ...(status === undefined ? {} : { status }),
        ...(endTime === undefined ? {} : { endTime }),
        ...(runName === undefined || runName === "" ? {} : { runName }),
      },
      actorOf(req),
    );
    return { run_info: runInfoJson(info) };
  });

  mlflowRoute(app, "POST", "/runs/delete", async (input, req) => {
    await tracking.deleteRun(runId(input), actorOf(req));
    return {};
  });
  mlflowRoute(app, "POST", "/runs/restore", async (input, req) => {
    await tracking.restoreRun(runId(input), actorOf(req));
    return {};
  });

  mlflowRoute(app, "GET", "/runs/get", async (input) => ({ run: runJson(await tracking.getRun(runId(input))) }));

  mlflowRoute(
    app,
    ["POST", "GET"],
    "/runs/search",
    async (input) => {
      const page = await tracking.searchRuns({
        experimentIds: input.stringList("experiment_ids"),
        filter: input.string("filter") || undefined,
        runViewType: input.protoEnum("run_view_type", VIEW_TYPES),
        maxResults: input.integer("max_results"),
        orderBy: input.stringList("order_by"),
        pageToken: input.string("page_token") || undefined,
      });
      return { runs: page.items.map(runJson), next_page_token: page.nextPageToken };
    },
    { role: "reader" },
  );

  mlflowRoute(app, "POST", "/runs/log-metric", async (input, req) => {
    await tracking.logMetric(runId(input), metricOf(input), actorOf(req));
    return {};
  });
  mlflowRoute(app, "POST", "/runs/log-parameter", async (input, req) => {
    await tracking.logParam(
      runId(input),
      { key: input.requiredString("key"), value: input.string("value") ?? "" },
      actorOf(req),
    );
    return {};
  });
  mlflowRoute(app, "POST", "/runs/set-tag", async (input, req) => {
    await tracking.setTag(runId(input), tagOf(input), actorOf(req));
    return {};
  });
  mlflowRoute(app, "POST", "/runs/delete-tag", async (input, req) => {
    await tracking.deleteTag(runId(input), input.requiredString("key"), actorOf(req));
    return {};
  });

  mlflowRoute(app, "POST", "/runs/log-batch", async (input, req) => {
    await tracking.logBatch(
      runId(input),
      {
        metrics: input.objectList("metrics").map(metricOf),
        params: input
          .objectList("params")
          .map((p) => ({ key: p.requiredString("key"), value: p.string("value") ?? "" })),
        tags: input.objectList("tags").map(tagOf),
      },
      actorOf(req),
    );
    return {};
  });

  mlflowRoute(app, "POST", "/runs/log-inputs", async (input, req) => {
    const id = runId(input);
    await tracking.logInputs(id, input.objectList("datasets").map(datasetInputOf), actorOf(req));
    // MLflow 3 also records the logged models a run used (e.g. to evaluate them): `models[].model_id`.
    const models = input.objectList("models").map((m) => m.requiredString("model_id"));
    for (const m of models) await tracking.getLoggedModel(m);
    if (models.length > 0) {
      await tracking.logBatch(
        id,
        { tags: models.map((m) => ({ key: `${MODEL_INPUT_TAG_PREFIX}${m}`, value: "" })) },
        actorOf(req),
      );
    }
    return {};
  });

  modelOutputRoutes(app, tracking, runId);

  // MLflow 2.x clients record every logged model on its run; MLflow keeps the list in a tag.
  mlflowRoute(app, "POST", "/runs/log-model", async (input, req) => {
    const id = runId(input);
    const text = input.requiredString("model_json");
    let model: unknown;
    try {
      model = JSON.parse(text);
    } catch {
      throw new InvalidParameterError(`model_json ${JSON.stringify(text.slice(0, 80))} must be a JSON object`);
    }
    if (typeof model !== "object" || model === null || Array.isArray(model)) {
      throw new InvalidParameterError(`model_json ${JSON.stringify(text.slice(0, 80))} must be a JSON object`);
    }
    const run = await tracking.getRun(id);
    const previous = run.data.tags.find((t) => t.key === LOG_MODEL_HISTORY_TAG)?.value;
    const history = previous === undefined ? [] : (JSON.parse(previous) as unknown[]);
    await tracking.setTag(id, { key: LOG_MODEL_HISTORY_TAG, value: JSON.stringify([...history, model]) }, actorOf(req));
    return {};
  });

  mlflowRoute(app, "GET", "/metrics/get-history", async (input) => {
    const maxResults = input.integer("max_results");
    const pageToken = input.string("page_token");
    const page = await tracking.getMetricHistory(runId(input), input.requiredString("metric_key"), {
      ...(maxResults === undefined ? {} : { maxResults }),
      ...(pageToken === undefined || pageToken === "" ? {} : { pageToken }),
    });
    return { metrics: page.items.map(metricJson), next_page_token: page.nextPageToken };
  });
};

/** MLflow 3's `runs/outputs`: the logged models a run produced. */
function modelOutputRoutes(app: FastifyInstance, tracking: TrackingStore, runId: (input: Input) => string): void {
  // MLflow 3's log_model links the logged model to its run as an output. keel keeps each link as
  // the run tag `keel.output.model.<model_id>` = step, after checking both ends exist.
  mlflowRoute(app, "POST", "/runs/outputs", async (input, req) => {
    const id = runId(input);
    await tracking.getRun(id);
    const outputs = input.objectList("models").map((m) => ({
      modelId: m.requiredString("model_id"),
      step: m.integer("step") ?? 0,
    }));
    for (const o of outputs) await tracking.getLoggedModel(o.modelId);
    if (outputs.length > 0) {
      await tracking.logBatch(
        id,
        { tags: outputs.map((o) => ({ key: `${MODEL_OUTPUT_TAG_PREFIX}${o.modelId}`, value: String(o.step) })) },
        actorOf(req),
      );
    }
    return {};
  });
}
