import type { FastifyInstance } from "fastify";
import type { Lineage, ModelVersion, RegistryStore } from "../../registry/index.js";
import { STAGES, type Stage } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { aliasNeedsApprover, requireRole, stageNeedsApprover, tagNeedsApprover } from "../auth.js";
import { ChampionGuard } from "../champion-guard.js";
import type { Input } from "../input.js";
import { linkedModelVersionJson, modelVersionJson, registeredModelJson } from "../mlflow-json.js";
import type { UserStore } from "../../store/index.js";
import type { TrackingStore } from "../../tracking/index.js";
import { actorOf, mlflowRoute } from "./mlflow-common.js";
import { tagOf } from "./mlflow-runs.js";
import { specError } from "../../spec-fields.js";
import type { Signature } from "../../data/index.js";
import type { Tag } from "../../tracking/index.js";
import { mlflowVersionFields } from "../model-source.js";

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
export const mlflowRegistryRoutes: RoutePlugin = (app, { stores, serving }) => {
  const guard = new ChampionGuard(stores.registry, serving);
  registeredModelRoutes(app, stores.registry, stores.users, guard);
  const artifacts = stores.artifacts;
  modelVersionRoutes(app, stores.registry, stores.tracking, guard, (source) =>
    artifacts === undefined
      ? Promise.resolve({ tags: [] })
      : mlflowVersionFields({ artifacts, tracking: stores.tracking }, source),
  );
};

/** MLflow 3 registers `models:/<model_id>`: the logged model the version comes from. */
const LOGGED_MODEL_URI = /^models:\/(m-[0-9a-f]+)\/?$/;

/** A version with its logged model's params and metrics, when it was registered from one. */
async function versionJson(tracking: TrackingStore, v: ModelVersion) {
  if (v.modelId === undefined) return modelVersionJson(v);
  const logged = await tracking.getLoggedModel(v.modelId).catch(() => undefined);
  return linkedModelVersionJson(v, logged);
}

/**
 * Where a version's files are, as MLflow's get-download-uri answers: `runs:/<run>/<path>` under
 * the run's artifact root, `models:/<model_id>` at the logged model's, anything else as given.
 */
export async function downloadUri(tracking: TrackingStore, registry: RegistryStore, source: string): Promise<string> {
  const run = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
  if (run !== null) {
    const root = (await tracking.getRun(run[1] ?? "")).info.artifactUri.replace(/\/+$/, "");
    return run[2] === undefined || run[2] === "" ? root : `${root}/${run[2]}`;
  }
  const logged = LOGGED_MODEL_URI.exec(source);
  if (logged !== null) return (await tracking.getLoggedModel(logged[1] ?? "")).artifactUri;
  const registered = /^models:\/([^/@]+)\/([^/]+)\/?$/.exec(source);
  if (registered !== null) {
    const v = await registry.getModelVersion(registered[1] ?? "", registered[2] ?? "");
    return v.source === source ? source : downloadUri(tracking, registry, v.source);
  }
  return source;
}

function registeredModelRoutes(
  app: FastifyInstance,
  registry: RegistryStore,
  users: UserStore | undefined,
  guard: ChampionGuard,
): void {
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
  mlflowRoute(app, "POST", "/registered-models/rename", async (input, req) => {
    const name = input.requiredString("name");
    await guard.model(req, name, "renaming");
    const model = await registry.renameRegisteredModel(name, input.requiredString("new_name"), actorOf(req));
    // Permissions are kept by name (auth.md): they follow the model to its new one.
    await users?.renamePermissionTarget("registered_model", name, model.name, actorOf(req));
    return { registered_model: registeredModelJson(model) };
  });
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
    const name = input.requiredString("name");
    await guard.model(req, name, "deleting");
    await registry.deleteRegisteredModel(name, actorOf(req));
    // A model is known by its name: its grants must not pass to a new model of that name.
    for (const g of (await users?.listPermissions({ resource: "registered_model", resourceId: name })) ?? []) {
      await users?.deletePermission(g.resource, g.resourceId, g.username, actorOf(req));
    }
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
    guard.alias(req, input.requiredString("name"), alias, "setting");
    await registry.setAlias(input.requiredString("name"), alias, input.requiredString("version"), actorOf(req));
    return {};
  });
  mlflowRoute(app, "DELETE", "/registered-models/alias", async (input, req) => {
    const alias = input.requiredString("alias");
    if (aliasNeedsApprover(alias)) requireRole(req, "approver", `deleting alias '${alias}'`);
    guard.alias(req, input.requiredString("name"), alias, "deleting");
    await registry.deleteAlias(input.requiredString("name"), alias, actorOf(req));
    return {};
  });
  mlflowRoute(app, "GET", "/registered-models/alias", async (input) => ({
    model_version: modelVersionJson(
      await registry.getVersionByAlias(input.requiredString("name"), input.requiredString("alias")),
    ),
  }));
}

function modelVersionRoutes(
  app: FastifyInstance,
  registry: RegistryStore,
  tracking: TrackingStore,
  guard: ChampionGuard,
  /** What the source's MLflow model directory adds to the version (signature, flavor tags). */
  sourceFields: (source: string) => Promise<{ signature?: Signature; tags: Tag[] }>,
): void {
  mlflowRoute(app, "POST", "/model-versions/create", async (input, req) => {
    const source = input.requiredString("source");
    const modelId = input.string("model_id") || LOGGED_MODEL_URI.exec(source)?.[1];
    // A version names an existing logged model, or none.
    if (modelId !== undefined) await tracking.getLoggedModel(modelId);
    const runId = input.string("run_id");
    const runLink = input.string("run_link");
    const description = input.string("description");
    const checksum = input.string("checksum");
    const lineage = lineageOf(input);
    const tags = input.objectList("tags").map(tagOf);
    for (const t of tags) if (tagNeedsApprover(t.key)) requireRole(req, "approver", `setting tag '${t.key}'`);
    const folder = await sourceFields(source);
    const version = await registry.createModelVersion(
      {
        name: input.requiredString("name"),
        source,
        tags: [...tags, ...folder.tags],
        ...(folder.signature === undefined ? {} : { signature: folder.signature }),
        ...(modelId === undefined ? {} : { modelId }),
        ...(runId === undefined || runId === "" ? {} : { runId }),
        ...(runLink === undefined || runLink === "" ? {} : { runLink }),
        ...(description === undefined ? {} : { description }),
        ...(checksum === undefined || checksum === "" ? {} : { checksum }),
        ...(lineage === undefined ? {} : { lineage }),
      },
      actorOf(req),
    );
    return { model_version: await versionJson(tracking, version) };
  });
  mlflowRoute(app, "GET", "/model-versions/get", async (input) => ({
    model_version: await versionJson(
      tracking,
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
    await guard.version(req, input.requiredString("name"), input.requiredString("version"), "deleting");
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
    return { artifact_uri: await downloadUri(tracking, registry, v.source) };
  });
  mlflowRoute(app, "POST", "/model-versions/transition-stage", async (input, req) => {
    const stage = parseStage(input.requiredString("stage"));
    if (stageNeedsApprover(stage)) requireRole(req, "approver", `moving a model to stage ${stage}`);
    await guard.version(req, input.requiredString("name"), input.requiredString("version"), `moving to stage ${stage}`);
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
