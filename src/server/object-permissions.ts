import type { FastifyRequest } from "fastify";
import { PermissionError } from "../errors.js";
import type { ObjectPermission, PermissionResource, Role, UserStore } from "../store/index.js";
import type { TrackingStore } from "../tracking/index.js";
import { Input } from "./input.js";
import type { ObjectAccess } from "./password-auth.js";
import { MLFLOW_PREFIXES } from "./routes/mlflow-common.js";

/** What a route does to its object, as MLflow's auth app decides it: read, update, delete or manage. */
type Action = "read" | "update" | "delete" | "manage";
/** How the route names its object. */
type Locator = "experiment_id" | "experiment_name" | "run_id" | "model_name";

const RANK: Readonly<Record<ObjectPermission, number>> = { NO_PERMISSIONS: 0, READ: 1, EDIT: 2, MANAGE: 3 };
const NEEDS: Readonly<Record<Action, ObjectPermission>> = {
  read: "READ",
  update: "EDIT",
  delete: "MANAGE",
  manage: "MANAGE",
};

/**
 * MLflow's table of guarded routes (`mlflow/server/auth/__init__.py`), keyed by method and path
 * below the MLflow prefix. Runs inherit their experiment's permission.
 */
const ROUTES: Readonly<Record<string, readonly [Locator, Action]>> = {
  "GET /experiments/get": ["experiment_id", "read"],
  "GET /experiments/get-by-name": ["experiment_name", "read"],
  "POST /experiments/delete": ["experiment_id", "delete"],
  "POST /experiments/restore": ["experiment_id", "delete"],
  "POST /experiments/update": ["experiment_id", "update"],
  "POST /experiments/set-experiment-tag": ["experiment_id", "update"],
  "POST /experiments/delete-experiment-tag": ["experiment_id", "update"],
  "POST /runs/create": ["experiment_id", "update"],
  "GET /runs/get": ["run_id", "read"],
  "POST /runs/delete": ["run_id", "delete"],
  "POST /runs/restore": ["run_id", "delete"],
  "POST /runs/update": ["run_id", "update"],
  "POST /runs/log-metric": ["run_id", "update"],
  "POST /runs/log-batch": ["run_id", "update"],
  "POST /runs/log-model": ["run_id", "update"],
  "POST /runs/log-inputs": ["run_id", "update"],
  "POST /runs/outputs": ["run_id", "update"],
  "POST /runs/set-tag": ["run_id", "update"],
  "POST /runs/delete-tag": ["run_id", "update"],
  "POST /runs/log-parameter": ["run_id", "update"],
  "GET /metrics/get-history": ["run_id", "read"],
  "GET /artifacts/list": ["run_id", "read"],
  "GET /registered-models/get": ["model_name", "read"],
  "DELETE /registered-models/delete": ["model_name", "delete"],
  "PATCH /registered-models/update": ["model_name", "update"],
  "POST /registered-models/rename": ["model_name", "update"],
  "GET /registered-models/get-latest-versions": ["model_name", "read"],
  "POST /registered-models/get-latest-versions": ["model_name", "read"],
  "POST /model-versions/create": ["model_name", "update"],
  "GET /model-versions/get": ["model_name", "read"],
  "DELETE /model-versions/delete": ["model_name", "delete"],
  "PATCH /model-versions/update": ["model_name", "update"],
  "POST /model-versions/transition-stage": ["model_name", "update"],
  "GET /model-versions/get-download-uri": ["model_name", "read"],
  "POST /registered-models/set-tag": ["model_name", "update"],
  "DELETE /registered-models/delete-tag": ["model_name", "update"],
  "POST /model-versions/set-tag": ["model_name", "update"],
  "DELETE /model-versions/delete-tag": ["model_name", "delete"],
  "POST /registered-models/alias": ["model_name", "update"],
  "DELETE /registered-models/alias": ["model_name", "delete"],
  "GET /registered-models/alias": ["model_name", "read"],
  "POST /experiments/permissions/create": ["experiment_id", "manage"],
  "GET /experiments/permissions/get": ["experiment_id", "manage"],
  "PATCH /experiments/permissions/update": ["experiment_id", "manage"],
  "DELETE /experiments/permissions/delete": ["experiment_id", "manage"],
  "POST /registered-models/permissions/create": ["model_name", "manage"],
  "GET /registered-models/permissions/get": ["model_name", "manage"],
  "PATCH /registered-models/permissions/update": ["model_name", "manage"],
  "DELETE /registered-models/permissions/delete": ["model_name", "manage"],
};

/**
 * What a user may do to an object they hold no grant on follows from their keel role: readers
 * and reviewers read, writers and approvers edit, admins manage (and skip every check).
 */
export function defaultPermission(role: Role): ObjectPermission {
  if (role === "admin") return "MANAGE";
  return role === "writer" || role === "approver" ? "EDIT" : "READ";
}

export function permissionAllows(have: ObjectPermission, action: Action): boolean {
  return RANK[have] >= RANK[NEEDS[action]];
}

function routeKey(req: FastifyRequest): string | undefined {
  const url = req.routeOptions.url ?? "";
  const prefix = MLFLOW_PREFIXES.find((p) => url.startsWith(`${p}/`));
  return prefix === undefined ? undefined : `${req.method} ${url.slice(prefix.length)}`;
}

/** Per-object permissions of password users on MLflow's routes, over the user store. */
export function createObjectAccess(deps: { users: UserStore; tracking: TrackingStore }): ObjectAccess & {
  permissionOf(username: string, role: Role, resource: PermissionResource, id: string): Promise<ObjectPermission>;
} {
  const { users, tracking } = deps;
  const permissionOf = async (username: string, role: Role, resource: PermissionResource, id: string) => {
    if (role === "admin") return "MANAGE" as const;
    const grant = await users.findPermission(resource, id, username);
    return grant?.permission ?? defaultPermission(role);
  };
  const locate = async (input: Input, locator: Locator): Promise<[PermissionResource, string]> => {
    switch (locator) {
      case "experiment_id":
        return ["experiment", input.requiredString("experiment_id")];
      case "experiment_name":
        return [
          "experiment",
          (await tracking.getExperimentByName(input.requiredString("experiment_name"))).experimentId,
        ];
      case "run_id":
        return ["experiment", (await tracking.getRun(input.requiredStringOf("run_id", "run_uuid"))).info.experimentId];
      case "model_name":
        return ["registered_model", input.requiredString("name")];
    }
  };
  return {
    permissionOf,
    covers: (req) => {
      const key = routeKey(req);
      return key !== undefined && ROUTES[key] !== undefined;
    },
    async check(req) {
      const p = req.principal;
      const route = ROUTES[routeKey(req) ?? ""];
      if (p === undefined || route === undefined || p.role === "admin") return;
      const [resource, id] = await locate(Input.of(req), route[0]);
      const have = await permissionOf(p.name, p.role, resource, id);
      if (!permissionAllows(have, route[1])) {
        const what = resource === "experiment" ? `experiment ${id}` : `registered model '${id}'`;
        throw new PermissionError(`user '${p.name}' holds ${have} on ${what}; ${route[1]} needs ${NEEDS[route[1]]}`, {
          details: { resource, id, permission: have, required: NEEDS[route[1]] },
        });
      }
    },
    // As MLflow's auth app: whoever creates an experiment or a registered model manages it, and
    // searches leave out what the user may not read. (Renames and deletes carry grants along in
    // the registry routes, whoever makes them.)
    async after(req, _status, payload) {
      const key = routeKey(req);
      const p = req.principal;
      if (p === undefined || typeof payload !== "string") return payload;
      const hides = key === undefined ? undefined : SEARCHES[key.slice(key.indexOf(" ") + 1)];
      if (hides !== undefined) return p.role === "admin" ? payload : hideUnreadable(req, users, p.name, hides, payload);
      if (key === "POST /experiments/create") {
        const body = JSON.parse(payload) as { experiment_id?: string };
        if (body.experiment_id !== undefined) await grantManage(users, "experiment", body.experiment_id, p.name);
      } else if (key === "POST /registered-models/create") {
        const body = JSON.parse(payload) as { registered_model?: { name?: string } };
        const name = body.registered_model?.name;
        if (name !== undefined) await grantManage(users, "registered_model", name, p.name);
      }
      return payload;
    },
  };
}

type Item = Record<string, unknown>;
/** The experiment a listed run or logged model belongs to (`info.experiment_id`). */
const experimentOf = (x: Item) => String((x["info"] as Item | undefined)?.["experiment_id"]);

/** Search answers that list objects: which list, of which resource, and each item's object id. */
const SEARCHES: Readonly<Record<string, readonly [string, PermissionResource, (x: Item) => string]>> = {
  "/experiments/search": ["experiments", "experiment", (x) => String(x["experiment_id"])],
  "/experiments/list": ["experiments", "experiment", (x) => String(x["experiment_id"])],
  "/registered-models/search": ["registered_models", "registered_model", (x) => String(x["name"])],
  "/registered-models/list": ["registered_models", "registered_model", (x) => String(x["name"])],
  // Runs and logged models inherit their experiment's permission, model versions their model's.
  "/runs/search": ["runs", "experiment", experimentOf],
  "/logged-models/search": ["models", "experiment", experimentOf],
  "/model-versions/search": ["model_versions", "registered_model", (x) => String(x["name"])],
};

/** Marks a refill request: its answer is filtered but not refilled again. */
const REFILL_HEADER = "x-keel-permission-refill";

/**
 * A search answer without the objects the user holds NO_PERMISSIONS on (every role reads by
 * default, so only such grants hide anything). As MLflow's auth app does, a full page that lost
 * items is refilled from the following pages (each asked for exactly the items still missing,
 * so the last page token still points just past what was returned): paging through a search
 * returns every readable object once.
 */
async function hideUnreadable(
  req: FastifyRequest,
  users: UserStore,
  username: string,
  [list, resource, idOf]: readonly [string, PermissionResource, (x: Item) => string],
  payload: string,
): Promise<string> {
  const hidden = new Set(
    (await users.listPermissions({ username, resource }))
      .filter((g) => !permissionAllows(g.permission, "read"))
      .map((g) => g.resourceId),
  );
  if (hidden.size === 0) return payload;
  const body = JSON.parse(payload) as Record<string, unknown>;
  const items = body[list];
  if (!Array.isArray(items)) return payload;
  const kept = (items as Item[]).filter((x) => !hidden.has(idOf(x)));
  let missing = items.length - kept.length;
  let token = body["next_page_token"];
  while (missing > 0 && typeof token === "string" && token !== "" && req.headers[REFILL_HEADER] === undefined) {
    const next = await searchPage(req, token, missing);
    const more = next?.[list];
    if (next === undefined || !Array.isArray(more)) break;
    // The page comes back already filtered; its token says whether the search goes on.
    kept.push(...(more as Item[]));
    missing -= more.length;
    token = next["next_page_token"];
  }
  body[list] = kept;
  if (typeof token === "string" && token !== "") body["next_page_token"] = token;
  else delete body["next_page_token"];
  return JSON.stringify(body);
}

/** The same search as `req`, as the same user, from `pageToken` for `maxResults` items. */
async function searchPage(
  req: FastifyRequest,
  pageToken: string,
  maxResults: number,
): Promise<Record<string, unknown> | undefined> {
  const headers: Record<string, string> = { [REFILL_HEADER]: "1" };
  for (const name of ["authorization", "x-requested-with"]) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const url = new URL(req.url, "http://keel.invalid");
  let payload: string | undefined;
  if (req.method === "GET") {
    url.searchParams.set("page_token", pageToken);
    url.searchParams.set("max_results", String(maxResults));
  } else {
    headers["content-type"] = "application/json";
    const base = typeof req.body === "object" && req.body !== null ? req.body : {};
    payload = JSON.stringify({ ...base, page_token: pageToken, max_results: maxResults });
  }
  const res = await req.server.inject({
    method: req.method as "GET" | "POST",
    url: url.pathname + url.search,
    headers,
    ...(payload === undefined ? {} : { payload }),
  });
  return res.statusCode === 200 ? (JSON.parse(res.body) as Record<string, unknown>) : undefined;
}

async function grantManage(
  users: UserStore,
  resource: PermissionResource,
  id: string,
  username: string,
): Promise<void> {
  const existing = await users.findPermission(resource, id, username);
  const actor = { userId: username };
  if (existing === undefined)
    await users.createPermission({ resource, resourceId: id, username, permission: "MANAGE" }, actor);
  else if (existing.permission !== "MANAGE") await users.updatePermission({ ...existing, permission: "MANAGE" }, actor);
}
