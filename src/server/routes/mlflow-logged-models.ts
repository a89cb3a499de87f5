import { LOGGED_MODEL_STATUSES } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import type { Input } from "../input.js";
import { loggedModelJson, registeredLoggedModelJson } from "../mlflow-json.js";
import { actorOf, mlflowRoute } from "./mlflow-common.js";
import { tagOf } from "./mlflow-runs.js";

/** A dataset as MLflow 3's logged-model search names one: `dataset_name`, `dataset_digest`? */
function datasetOf(o: Input): { datasetName?: string; datasetDigest?: string } {
  const name = o.string("dataset_name");
  const digest = o.string("dataset_digest");
  return {
    ...(name === undefined || name === "" ? {} : { datasetName: name }),
    ...(digest === undefined || digest === "" ? {} : { datasetDigest: digest }),
  };
}

/** MLflow 3's logged models (`/mlflow/logged-models/...`), which `log_model` calls. */
export const mlflowLoggedModelRoutes: RoutePlugin = (app, { stores }) => {
  const tracking = stores.tracking;

  mlflowRoute(app, "POST", "/logged-models", async (input, req) => {
    const name = input.string("name");
    const modelType = input.string("model_type");
    const sourceRunId = input.string("source_run_id");
    const model = await tracking.createLoggedModel(
      {
        experimentId: input.requiredString("experiment_id"),
        params: input
          .objectList("params")
          .map((p) => ({ key: p.requiredString("key"), value: p.string("value") ?? "" })),
        tags: input.objectList("tags").map(tagOf),
        ...(name === undefined || name === "" ? {} : { name }),
        ...(modelType === undefined || modelType === "" ? {} : { modelType }),
        ...(sourceRunId === undefined || sourceRunId === "" ? {} : { sourceRunId }),
      },
      actorOf(req),
    );
    return { model: loggedModelJson(model) };
  });

  mlflowRoute(
    app,
    "POST",
    "/logged-models/search",
    async (input) => {
      const page = await tracking.searchLoggedModels({
        experimentIds: input.stringList("experiment_ids"),
        filter: input.string("filter") || undefined,
        maxResults: input.integer("max_results"),
        orderBy: input.objectList("order_by").map((o) => {
          const ascending = o.boolean("ascending");
          return {
            fieldName: o.requiredString("field_name"),
            ...(ascending === undefined ? {} : { ascending }),
            ...datasetOf(o),
          };
        }),
        datasets: input.objectList("datasets").map((d) => ({
          datasetName: d.requiredString("dataset_name"),
          ...datasetOf(d),
        })),
        pageToken: input.string("page_token") || undefined,
      });
      return { models: page.items.map(loggedModelJson), next_page_token: page.nextPageToken };
    },
    { role: "reader" },
  );

  // MLflow 3 lists the model versions registered from a logged model on it.
  mlflowRoute(app, "GET", "/logged-models/:model_id", async (input) => {
    const model = await tracking.getLoggedModel(input.requiredString("model_id"));
    const versions = await stores.registry.searchModelVersions({
      filter: `model_id = '${model.modelId}'`,
      maxResults: 1000,
    });
    return { model: registeredLoggedModelJson(model, versions.items) };
  });

  mlflowRoute(app, "PATCH", "/logged-models/:model_id", async (input, req) => {
    const status = input.requiredProtoEnum("status", LOGGED_MODEL_STATUSES);
    const model = await tracking.finalizeLoggedModel(input.requiredString("model_id"), status, actorOf(req));
    return { model: loggedModelJson(model) };
  });

  mlflowRoute(app, "DELETE", "/logged-models/:model_id", async (input, req) => {
    await tracking.deleteLoggedModel(input.requiredString("model_id"), actorOf(req));
    return {};
  });

  mlflowRoute(app, "PATCH", "/logged-models/:model_id/tags", async (input, req) => {
    await tracking.setLoggedModelTags(
      input.requiredString("model_id"),
      input.objectList("tags").map(tagOf),
      actorOf(req),
    );
    return {};
  });

  mlflowRoute(app, "DELETE", "/logged-models/:model_id/tags/:tag_key", async (input, req) => {
    await tracking.deleteLoggedModelTag(
      input.requiredString("model_id"),
      input.requiredString("tag_key"),
      actorOf(req),
    );
    return {};
  });

  mlflowRoute(app, "POST", "/logged-models/:model_id/params", async (input, req) => {
    await tracking.logLoggedModelParams(
      input.requiredString("model_id"),
      input.objectList("params").map((p) => ({ key: p.requiredString("key"), value: p.string("value") ?? "" })),
      actorOf(req),
    );
    return {};
  });
};
