import type { FastifyInstance } from "fastify";
import type { Lineage, RegistryStore } from "../../registry/index.js";
import { STAGES, type Stage } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { aliasNeedsApprover, requireRole, stageNeedsApprover, tagNeedsApprover } from "../auth.js";
import type { Input } from "../input.js";
import { modelVersionJson, registeredModelJson } from "../mlflow-json.js";
import { actorOf, mlflowRoute } from "./mlflow-common.js";
import { tagOf } from "./mlflow-runs.js";
import { specError } from "../../spec-fields.js";

/** MLflow accepts stage names in any case and stores the canonical spelling. */
export function parseStage(value: string, field = "stage"): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === value.toLowerCase());
  if (found === undefined) {
    throw specError(field, value, `must be one of ${STAGES.join(", ")}`);
  }
  return found;
}

function lineageOf(input: Input): Lineage | undefined {
  const l = input.object("lineage");
  if (l === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const key of Object.keys(input.rawValue("lineage") ?? {})) {
    out[key] = l.requiredString(key);
  }
  return out;
}

function searchQuery(input: Input) {
  return {
    filter: input.string("filter") || undefined,
    maxResults: input.integer("max_results"),
    orderBy: input.stringList("order_by"),
    pageToken: input.string("page_token") || undefined,
  };
}

/** Reads that MLflow clients make with a reader's token. */
const READ = { role: "reader" } as const;

/** MLflow's model registry API (`/mlflow/registered-models/...`, `/mlflow/model-versions/...`). */
export const mlflowRegistryRoutes: RoutePlugin = (app, { stores }) => {
  registeredModelRoutes(app, stores.registry);
  modelVersionRoutes(app, stores.registry);
};

function registeredModelRoutes(app: FastifyInstance, registry: RegistryStore): void {
  mlflowRoute(app, "POST", "/registered-models/create", async (input, req) => {
    const model = await registry.createRegisteredModel(
      input.requiredString("name"),
      input.string("description"),
      input.objectList("tags").map(tagOf),
      actorOf(req),
    );
    return { registered_model: registeredModelJson(model) };
  });
  mlflowRoute(app, "GET", "/registered-models/get", async (input) => ({
    registered_model: registeredModelJson(await registry.getRegisteredModel(input.requiredString("name"))),
  }));
  mlflowRoute(app, "POST", "/registered-models/rename", async (input, req) => ({
    registered_model: registeredModelJson(
      await registry.renameRegisteredModel(
        input.requiredString("name"),
        input.requiredString("new_name"),
        actorOf(req),
      ),
    ),
  }));
  mlflowRoute(app, "PATCH", "/registered-models/update", async (input, req) => ({
    registered_model: registeredModelJson(
      await registry.updateRegisteredModel(
        input.requiredString("name"),
        input.string("description") ?? "",
        actorOf(req),
      ),
    ),
  }));
  mlflowRoute(app, "DELETE", "/registered-models/delete", async (input, req) => {
    await registry.deleteRegisteredModel(input.requiredString("name"), actorOf(req));
    return {};
  });
  const searchModels = async (input: Input) => {
    const page = await registry.searchRegisteredModels(searchQuery(input));
    return { registered_models: page.items.map(registeredModelJson), next_page_token: page.nextPageToken };
  };
  mlflowRoute(app, ["GET", "POST"], "/registered-models/search", searchModels, READ);
  // MLflow 1.x clients list models with this route.
  mlflowRoute(app, "GET", "/registered-models/list", searchModels);
  mlflowRoute(
    app,
    ["POST", "GET"],
    "/registered-models/get-latest-versions",
    async (input) => {
      const versions = await registry.getLatestVersions(
        input.requiredString("name"),
        input.stringList("stages").map((s, i) => parseStage(s, `stages[${i}]`)),
      );
      return { model_versions: versions.map(modelVersionJson) };
    },
    READ,
  );
  mlflowRoute(app, "POST", "/registered-models/set-tag", async (input, req) => {
    await registry.setRegisteredModelTag(
      input.requiredString("name"),
      input.requiredString("key"),
      input.string("value") ?? "",
      actorOf(req),
    );
    return {};
  });
  mlflowRoute(app, "DELETE", "/registered-models/delete-tag", async (input, req) => {
    await registry.deleteRegisteredModelTag(input.requiredString("name"), input.requiredString("key"), actorOf(req));
    return {};
  });

  mlflowRoute(app, "POST", "/registered-models/alias", async (input, req) => {
    const alias = input.requiredString("alias");
    if (aliasNeedsApprover(alias)) requireRole(req, "approver", `setting alias '${alias}'`);
    await registry.setAlias(input.requiredString("name"), alias, input.requiredString("version"), actorOf(req));
    return {};
  });
  mlflowRoute(app, "DELETE", "/registered-models/alias", async (input, req) => {
    const alias = input.requiredString("alias");
    if (aliasNeedsApprover(alias)) requireRole(req, "approver", `deleting alias '${alias}'`);
    await registry.deleteAlias(input.requiredString("name"), alias, actorOf(req));
    return {};
  });
  mlflowRoute(app, "GET", "/registered-models/alias", async (input) => ({
    model_version: modelVersionJson(
      await registry.getVersionByAlias(input.requiredString("name"), input.requiredString("alias")),
    ),
  }));
}

function modelVersionRoutes(app: FastifyInstance, registry: RegistryStore): void {
  mlflowRoute(app, "POST", "/model-versions/create", async (input, req) => {
    const runId = input.string("run_id");
    const runLink = input.string("run_link");
    const description = input.string("description");
    const checksum = input.string("checksum");
    const lineage = lineageOf(input);
    const tags = input.objectList("tags").map(tagOf);
    for (const t of tags) if (tagNeedsApprover(t.key)) requireRole(req, "approver", `setting tag '${t.key}'`);
    const version = await registry.createModelVersion(
      {
        name: input.requiredString("name"),
        source: input.requiredString("source"),
        tags,
        ...(runId === undefined || runId === "" ? {} : { runId }),
        ...(runLink === undefined || runLink === "" ? {} : { runLink }),
        ...(description === undefined ? {} : { description }),
        ...(checksum === undefined || checksum === "" ? {} : { checksum }),
        ...(lineage === undefined ? {} : { lineage }),
      },
      actorOf(req),
    );
    return { model_version: modelVersionJson(version) };
  });
  mlflowRoute(app, "GET", "/model-versions/get", async (input) => ({
    model_version: modelVersionJson(
      await registry.getModelVersion(input.requiredString("name"), input.requiredString("version")),
    ),
  }));
  mlflowRoute(app, "PATCH", "/model-versions/update", async (input, req) => ({
    model_version: modelVersionJson(
      await registry.updateModelVersion(
        input.requiredString("name"),
        input.requiredString("version"),
        input.string("description") ?? "",
        actorOf(req),
      ),
    ),
  }));
  mlflowRoute(app, "DELETE", "/model-versions/delete", async (input, req) => {
    await registry.deleteModelVersion(input.requiredString("name"), input.requiredString("version"), actorOf(req));
    return {};
  });
  mlflowRoute(
    app,
    ["GET", "POST"],
    "/model-versions/search",
    async (input) => {
      const page = await registry.searchModelVersions(searchQuery(input));
      return { model_versions: page.items.map(modelVersionJson), next_page_token: page.nextPageToken };
    },
    READ,
  );
  mlflowRoute(app, "GET", "/model-versions/get-download-uri", async (input) => {
    const v = await registry.getModelVersion(input.requiredString("name"), input.requiredString("version"));
    return { artifact_uri: v.source };
  });
  mlflowRoute(app, "POST", "/model-versions/transition-stage", async (input, req) => {
    const stage = parseStage(input.requiredString("stage"));
    if (stageNeedsApprover(stage)) requireRole(req, "approver", `moving a model to stage ${stage}`);
    const version = await registry.transitionStage(
      input.requiredString("name"),
      input.requiredString("version"),
      stage,
      input.boolean("archive_existing_versions") ?? false,
      actorOf(req),
    );
    return { model_version: modelVersionJson(version) };
  });
  mlflowRoute(app, "POST", "/model-versions/set-tag", async (input, req) => {
    const key = input.requiredString("key");
    if (tagNeedsApprover(key)) requireRole(req, "approver", `setting tag '${key}'`);
    await registry.setModelVersionTag(
      input.requiredString("name"),
      input.requiredString("version"),
      key,
      input.string("value") ?? "",
      actorOf(req),
    );
    return {};
  });
  mlflowRoute(app, "DELETE", "/model-versions/delete-tag", async (input, req) => {
    const key = input.requiredString("key");
    if (tagNeedsApprover(key)) requireRole(req, "approver", `deleting tag '${key}'`);
    await registry.deleteModelVersionTag(
      input.requiredString("name"),
      input.requiredString("version"),
      key,
      actorOf(req),
    );
    return {};
  });
}
