import type { FastifyRequest } from "fastify";
import { PermissionError } from "../../errors.js";
import type { PermissionGrant, PermissionResource, UserInfo, UserStore } from "../../store/index.js";
import { parseObjectPermission } from "../../store/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { parseRole } from "../auth.js";
import type { Input } from "../input.js";
import { actorOf, mlflowRoute } from "./mlflow-common.js";

function grantJson(g: PermissionGrant, userId: string) {
  return g.resource === "experiment"
    ? { experiment_id: g.resourceId, user_id: userId, permission: g.permission }
    : { name: g.resourceId, user_id: userId, permission: g.permission };
}

async function userJson(users: UserStore, u: UserInfo) {
  const grants = await users.listPermissions({ username: u.username });
  return {
    id: u.id,
    username: u.username,
    is_admin: u.role === "admin",
    role: u.role,
    experiment_permissions: grants.filter((g) => g.resource === "experiment").map((g) => grantJson(g, u.id)),
    registered_model_permissions: grants
      .filter((g) => g.resource === "registered_model")
      .map((g) => grantJson(g, u.id)),
  };
}

/** MLflow lets a user read their own record and change their own password; an admin does anything. */
function requireSelfOrAdmin(req: FastifyRequest, username: string, what: string): void {
  const p = req.principal;
  if (!req.authEnabled || p === undefined || p.role === "admin" || (p.kind === "user" && p.name === username)) return;
  throw new PermissionError(`${what} of user '${username}' is for that user or an admin; '${p.name}' is neither`);
}

/**
 * MLflow's auth REST API (`mlflow server --app-name basic-auth`): users, and their permissions on
 * experiments and registered models. Guarding per object is in object-permissions.ts.
 */
export const mlflowUserRoutes: RoutePlugin = (app, { stores }) => {
  const users = stores.users;
  if (users === undefined) return;

  mlflowRoute(
    app,
    "POST",
    "/users/create",
    async (input, req) => {
      const role = input.string("role");
      const user = await users.create(
        {
          username: input.requiredString("username"),
          password: input.requiredString("password"),
          role: role === undefined || role === "" ? "writer" : parseRole(role),
        },
        actorOf(req),
      );
      return { user: await userJson(users, user) };
    },
    { role: "admin" },
  );
  mlflowRoute(
    app,
    "GET",
    "/users/get",
    async (input, req) => {
      const username = input.requiredString("username");
      requireSelfOrAdmin(req, username, "reading the record");
      return { user: await userJson(users, await users.get(username)) };
    },
    { role: "reader" },
  );
  mlflowRoute(
    app,
    "PATCH",
    "/users/update-password",
    async (input, req) => {
      const username = input.requiredString("username");
      requireSelfOrAdmin(req, username, "changing the password");
      await users.updatePassword(username, input.requiredString("password"), actorOf(req));
      return {};
    },
    { role: "reader" },
  );
  mlflowRoute(
    app,
    "PATCH",
    "/users/update-admin",
    async (input, req) => {
      const username = input.requiredString("username");
      const user = await users.get(username);
      const admin = input.requiredBoolean("is_admin");
      // Demoted admins become writers; a non-admin keeps the role they had.
      const role = admin ? "admin" : user.role === "admin" ? "writer" : user.role;
      await users.updateRole(username, role, actorOf(req));
      return {};
    },
    { role: "admin" },
  );
  mlflowRoute(
    app,
    "DELETE",
    "/users/delete",
    async (input, req) => {
      await users.delete(input.requiredString("username"), actorOf(req));
      return {};
    },
    { role: "admin" },
  );
  permissionRoutes(app, users, "experiment");
  permissionRoutes(app, users, "registered_model");
};

function permissionRoutes(app: Parameters<RoutePlugin>[0], users: UserStore, resource: PermissionResource): void {
  const base = resource === "experiment" ? "/experiments/permissions" : "/registered-models/permissions";
  const key = resource === "experiment" ? "experiment_permission" : "registered_model_permission";
  const idOf = (input: Input) =>
    resource === "experiment" ? input.requiredString("experiment_id") : input.requiredString("name");
  // Bearer tokens need admin here; password users need MANAGE on the object (object-permissions.ts).
  const admin = { role: "admin" } as const;
  const grantOf = (input: Input): PermissionGrant => ({
    resource,
    resourceId: idOf(input),
    username: input.requiredString("username"),
    permission: parseObjectPermission(input.requiredString("permission")),
  });
  mlflowRoute(
    app,
    "POST",
    `${base}/create`,
    async (input, req) => {
      const g = await users.createPermission(grantOf(input), actorOf(req));
      return { [key]: grantJson(g, (await users.get(g.username)).id) };
    },
    admin,
  );
  mlflowRoute(
    app,
    "GET",
    `${base}/get`,
    async (input) => {
      const username = input.requiredString("username");
      const g = await users.getPermission(resource, idOf(input), username);
      return { [key]: grantJson(g, (await users.get(username)).id) };
    },
    admin,
  );
  mlflowRoute(
    app,
    "PATCH",
    `${base}/update`,
    async (input, req) => {
      await users.updatePermission(grantOf(input), actorOf(req));
      return {};
    },
    admin,
  );
  mlflowRoute(
    app,
    "DELETE",
    `${base}/delete`,
    async (input, req) => {
      await users.deletePermission(resource, idOf(input), input.requiredString("username"), actorOf(req));
      return {};
    },
    admin,
  );
}
