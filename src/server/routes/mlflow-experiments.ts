import { VIEW_TYPES } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import type { Input } from "../input.js";
import { experimentJson } from "../mlflow-json.js";
import { actorOf, mlflowRoute } from "./mlflow-common.js";

function tagsOf(input: Input): { key: string; value: string }[] {
  return input.objectList("tags").map((t) => ({ key: t.requiredString("key"), value: t.string("value") ?? "" }));
}

/** MLflow's experiments API (`/mlflow/experiments/...`), including the older `experiments/list`. */
export const mlflowExperimentRoutes: RoutePlugin = (app, { stores }) => {
  const tracking = stores.tracking;

  mlflowRoute(app, "POST", "/experiments/create", async (input, req) => {
    const id = await tracking.createExperiment(
      input.requiredString("name"),
      input.string("artifact_location") || undefined,
      tagsOf(input),
      actorOf(req),
    );
    return { experiment_id: id };
  });

  const search = async (input: Input) => {
    const page = await tracking.searchExperiments({
      filter: input.string("filter") || undefined,
      viewType: input.protoEnum("view_type", VIEW_TYPES),
      maxResults: input.integer("max_results"),
      orderBy: input.stringList("order_by"),
      pageToken: input.string("page_token") || undefined,
    });
    return { experiments: page.items.map(experimentJson), next_page_token: page.nextPageToken };
  };
  // A search is a read, whichever method carries it.
  mlflowRoute(app, ["GET", "POST"], "/experiments/search", search, { role: "reader" });
  // MLflow 1.x clients list experiments with this route; it is search without a filter.
  mlflowRoute(app, "GET", "/experiments/list", async (input) => {
    const page = await tracking.searchExperiments({
      viewType: input.protoEnum("view_type", VIEW_TYPES),
      maxResults: input.integer("max_results"),
      pageToken: input.string("page_token") || undefined,
    });
    return { experiments: page.items.map(experimentJson), next_page_token: page.nextPageToken };
  });

  mlflowRoute(app, "GET", "/experiments/get", async (input) => ({
    experiment: experimentJson(await tracking.getExperiment(input.requiredString("experiment_id"))),
  }));
  mlflowRoute(app, "GET", "/experiments/get-by-name", async (input) => ({
    experiment: experimentJson(await tracking.getExperimentByName(input.requiredString("experiment_name"))),
  }));
  mlflowRoute(app, "POST", "/experiments/delete", async (input, req) => {
    await tracking.deleteExperiment(input.requiredString("experiment_id"), actorOf(req));
    return {};
  });
  mlflowRoute(app, "POST", "/experiments/restore", async (input, req) => {
    await tracking.restoreExperiment(input.requiredString("experiment_id"), actorOf(req));
    return {};
  });
  mlflowRoute(app, "POST", "/experiments/update", async (input, req) => {
    await tracking.renameExperiment(
      input.requiredString("experiment_id"),
      input.requiredString("new_name"),
      actorOf(req),
    );
    return {};
  });
  mlflowRoute(app, "POST", "/experiments/set-experiment-tag", async (input, req) => {
    await tracking.setExperimentTag(
      input.requiredString("experiment_id"),
      input.requiredString("key"),
      input.string("value") ?? "",
      actorOf(req),
    );
    return {};
  });
  mlflowRoute(app, "POST", "/experiments/delete-experiment-tag", async (input, req) => {
    await tracking.deleteExperimentTag(
      input.requiredString("experiment_id"),
      input.requiredString("key"),
      actorOf(req),
    );
    return {};
  });
};
