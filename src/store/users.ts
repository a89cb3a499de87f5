import type { Clock } from "../runtime/index.js";
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { ConflictError, InvalidParameterError, NotFoundError } from "../errors.js";
import { specError } from "../spec-fields.js";
import { appendAudit } from "./audit.js";
import type { MetadataDb } from "./metadata-db.js";
import type { AuthUsersTable } from "./schema.js";
import { isRole, ROLES, type Role } from "./tokens.js";

/** MLflow's permission levels on one experiment or registered model, weakest first. */
export const OBJECT_PERMISSIONS = ["NO_PERMISSIONS", "READ", "EDIT", "MANAGE"] as const;
export type ObjectPermission = (typeof OBJECT_PERMISSIONS)[number];
export type PermissionResource = "experiment" | "registered_model";

export interface UserInfo {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly createdAt: number;
  readonly createdBy: string;
}

export interface PermissionGrant {
  readonly resource: PermissionResource;
  /** The experiment's id or the registered model's name. */
  readonly resourceId: string;
  readonly username: string;
  readonly permission: ObjectPermission;
}

type Actor = { userId: string } | undefined;

/** Users who sign in with a password (HTTP Basic) and their per-object permissions. */
export interface UserStore {
  create(input: { username: string; password: string; role: Role }, actor?: Actor): Promise<UserInfo>;
  get(username: string): Promise<UserInfo>;
  list(): Promise<readonly UserInfo[]>;
  delete(username: string, actor?: Actor): Promise<void>;
  updatePassword(username: string, password: string, actor?: Actor): Promise<void>;
  updateRole(username: string, role: Role, actor?: Actor): Promise<UserInfo>;
  /** The user when the password is theirs, else undefined (unknown user and wrong password alike). */
  authenticate(username: string, password: string): Promise<UserInfo | undefined>;
  createPermission(grant: PermissionGrant, actor?: Actor): Promise<PermissionGrant>;
  /** The explicit grant, or undefined when the user has none on that object. */
  findPermission(
    resource: PermissionResource,
    resourceId: string,
    username: string,
  ): Promise<PermissionGrant | undefined>;
  getPermission(resource: PermissionResource, resourceId: string, username: string): Promise<PermissionGrant>;
  updatePermission(grant: PermissionGrant, actor?: Actor): Promise<PermissionGrant>;
  deletePermission(resource: PermissionResource, resourceId: string, username: string, actor?: Actor): Promise<void>;
  /** Moves every grant on an object to its new id (a renamed registered model keeps its grants). */
  renamePermissionTarget(resource: PermissionResource, from: string, to: string, actor?: Actor): Promise<void>;
  /** Every grant of one user, or every grant on one object when `resourceId` is given. */
  listPermissions(filter: {
    username?: string;
    resource?: PermissionResource;
    resourceId?: string;
  }): Promise<readonly PermissionGrant[]>;
}

/** scrypt cost: N = 2^15, r = 8, p = 1 (about 32 MiB, tens of milliseconds a check). */
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_LENGTH = 32;
export const MIN_PASSWORD_LENGTH = 8;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, { ...params, maxmem: SCRYPT.maxmem }, (err, key) =>
      err === null ? resolve(key) : reject(err),
    ),
  );
}

/** `scrypt$N$r$p$salt$key` (base64url): the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split("$");
  if (scheme !== "scrypt" || salt === undefined || key === undefined) return false;
  const expected = Buffer.from(key, "base64url");
  const got = await derive(password, Buffer.from(salt, "base64url"), { N: Number(n), r: Number(r), p: Number(p) });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

function checkUsername(username: unknown): string {
  if (typeof username !== "string" || username.trim() === "" || username.length > 256 || username.includes(":")) {
    throw specError("username", username, "must be 1 to 256 characters without ':'");
  }
  return username;
}

function checkPassword(password: unknown): string {
  if (typeof password !== "string" || password.length < MIN_PASSWORD_LENGTH) {
    // The value is never echoed back: it is a secret.
    throw new InvalidParameterError(`password must be at least ${MIN_PASSWORD_LENGTH} characters`, {
      details: { field: "password", rule: `at least ${MIN_PASSWORD_LENGTH} characters` },
    });
  }
  return password;
}

export function parseObjectPermission(value: string, field = "permission"): ObjectPermission {
  if (!(OBJECT_PERMISSIONS as readonly string[]).includes(value)) {
    throw specError(field, value, `must be one of ${OBJECT_PERMISSIONS.join(", ")}`);
  }
  return value as ObjectPermission;
}

function toUser(r: AuthUsersTable): UserInfo {
  return {
    id: r.id,
    username: r.username,
    role: r.role as Role,
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
  };
}

const noUser = (username: string) => new NotFoundError(`user with username=${JSON.stringify(username)} does not exist`);
const noGrant = (g: { resource: string; resourceId: string; username: string }) =>
  new NotFoundError(
    `${g.resource} permission with ${g.resource === "experiment" ? "experiment_id" : "name"}=${JSON.stringify(g.resourceId)} and username=${JSON.stringify(g.username)} does not exist`,
  );

/** Recently verified passwords, by user, so a client sending Basic on every call pays scrypt once a minute. */
interface Verified {
  readonly digest: string;
  readonly storedHash: string;
  readonly at: number;
}
const VERIFIED_FOR_MS = 60_000;

export function createUserStore(metadata: MetadataDb, deps: { clock?: Clock } = {}): UserStore {
  const clock = deps.clock ?? Date.now;
  const verified = new Map<string, Verified>();
  const audit = (
    tx: Parameters<Parameters<MetadataDb["transaction"]>[0]>[0],
    actor: Actor,
    action: string,
    targetId: string,
    change: { before?: unknown; after?: unknown },
  ) =>
    appendAudit(tx, { actor: actor?.userId ?? "anonymous", action, targetType: "user", targetId, ...change }, clock());
  const row = (username: string) =>
    metadata.query((db) => db.selectFrom("auth_users").selectAll().where("username", "=", username).executeTakeFirst());

  const store: UserStore = {
    async create(input, actor) {
      const username = checkUsername(input.username);
      const password = checkPassword(input.password);
      if (!isRole(input.role)) throw specError("role", input.role, `must be one of ${ROLES.join(", ")}`);
      const r: AuthUsersTable = {
        id: randomBytes(8).toString("hex"),
        username,
        password_hash: await hashPassword(password),
        role: input.role,
        created_at: clock(),
        created_by: actor?.userId ?? "anonymous",
      };
      return metadata.transaction(async (tx) => {
        const taken = await tx
          .selectFrom("auth_users")
          .select("id")
          .where("username", "=", username)
          .executeTakeFirst();
        if (taken !== undefined) {
          throw new ConflictError(`user with username=${JSON.stringify(username)} already exists`);
        }
        await tx.insertInto("auth_users").values(r).execute();
        await audit(tx, actor, "user.create", username, { after: { username, role: r.role } });
        return toUser(r);
      });
    },

    async get(username) {
      const r = await row(username);
      if (r === undefined) throw noUser(username);
      return toUser(r);
    },

    async list() {
      return metadata.query(async (db) =>
        (await db.selectFrom("auth_users").selectAll().orderBy("username").execute()).map(toUser),
      );
    },

    async delete(username, actor) {
      await metadata.transaction(async (tx) => {
        const r = await tx.selectFrom("auth_users").selectAll().where("username", "=", username).executeTakeFirst();
        if (r === undefined) throw noUser(username);
        await tx.deleteFrom("auth_permissions").where("username", "=", username).execute();
        await tx.deleteFrom("auth_users").where("username", "=", username).execute();
        await audit(tx, actor, "user.delete", username, { before: { username, role: r.role } });
      });
      verified.delete(username);
    },

    async updatePassword(username, password, actor) {
      const hash = await hashPassword(checkPassword(password));
      await metadata.transaction(async (tx) => {
        const done = await tx
          .updateTable("auth_users")
          .set({ password_hash: hash })
          .where("username", "=", username)
          .executeTakeFirst();
        if (Number(done.numUpdatedRows) === 0) throw noUser(username);
        await audit(tx, actor, "user.update_password", username, {});
      });
      verified.delete(username);
    },

    async updateRole(username, role, actor) {
      if (!isRole(role)) throw specError("role", role, `must be one of ${ROLES.join(", ")}`);
      return metadata.transaction(async (tx) => {
        const r = await tx.selectFrom("auth_users").selectAll().where("username", "=", username).executeTakeFirst();
        if (r === undefined) throw noUser(username);
        await tx.updateTable("auth_users").set({ role }).where("username", "=", username).execute();
        await audit(tx, actor, "user.update_role", username, { before: { role: r.role }, after: { role } });
        return toUser({ ...r, role });
      });
    },

    async authenticate(username, password) {
      const r = await row(username);
      if (r === undefined) {
        // Spend the same work on an unknown name, so timing does not tell which names exist.
        await hashPassword(password);
        return undefined;
      }
      const digest = createHash("sha256").update(`${username}\0${password}`, "utf8").digest("hex");
      const seen = verified.get(username);
      const now = clock();
      if (seen?.digest === digest && seen.storedHash === r.password_hash && now - seen.at < VERIFIED_FOR_MS) {
        return toUser(r);
      }
      if (!(await verifyPassword(password, r.password_hash))) return undefined;
      verified.set(username, { digest, storedHash: r.password_hash, at: now });
      return toUser(r);
    },

    ...permissionMethods(metadata, audit, (username) => store.get(username)),
  };
  return store;
}

type Audit = (
  tx: Parameters<Parameters<MetadataDb["transaction"]>[0]>[0],
  actor: Actor,
  action: string,
  targetId: string,
  change: { before?: unknown; after?: unknown },
) => Promise<unknown>;

type PermissionMethods = Pick<
  UserStore,
  | "createPermission"
  | "findPermission"
  | "getPermission"
  | "updatePermission"
  | "deletePermission"
  | "renamePermissionTarget"
  | "listPermissions"
>;

function permissionMethods(
  metadata: MetadataDb,
  audit: Audit,
  getUser: (username: string) => Promise<UserInfo>,
): PermissionMethods {
  const methods: PermissionMethods = {
    async createPermission(grant, actor) {
      const g = { ...grant, permission: parseObjectPermission(grant.permission) };
      await getUser(g.username);
      return metadata.transaction(async (tx) => {
        const existing = await findIn(tx, g.resource, g.resourceId, g.username);
        if (existing !== undefined) {
          throw new ConflictError(
            `${g.resource} permission (${g.resource === "experiment" ? "experiment_id" : "name"}=${JSON.stringify(g.resourceId)}, username=${JSON.stringify(g.username)}) already exists`,
          );
        }
        await tx
          .insertInto("auth_permissions")
          .values({
            resource_type: g.resource,
            resource_id: g.resourceId,
            username: g.username,
            permission: g.permission,
          })
          .execute();
        await audit(tx, actor, "permission.create", g.username, { after: g });
        return g;
      });
    },

    async findPermission(resource, resourceId, username) {
      return metadata.query((db) => findIn(db, resource, resourceId, username));
    },

    async getPermission(resource, resourceId, username) {
      const g = await methods.findPermission(resource, resourceId, username);
      if (g === undefined) throw noGrant({ resource, resourceId, username });
      return g;
    },

    async updatePermission(grant, actor) {
      const g = { ...grant, permission: parseObjectPermission(grant.permission) };
      return metadata.transaction(async (tx) => {
        const before = await findIn(tx, g.resource, g.resourceId, g.username);
        if (before === undefined) throw noGrant(g);
        await tx
          .updateTable("auth_permissions")
          .set({ permission: g.permission })
          .where("resource_type", "=", g.resource)
          .where("resource_id", "=", g.resourceId)
          .where("username", "=", g.username)
          .execute();
        await audit(tx, actor, "permission.update", g.username, { before, after: g });
        return g;
      });
    },

    async deletePermission(resource, resourceId, username, actor) {
      await metadata.transaction(async (tx) => {
        const before = await findIn(tx, resource, resourceId, username);
        if (before === undefined) throw noGrant({ resource, resourceId, username });
        await tx
          .deleteFrom("auth_permissions")
          .where("resource_type", "=", resource)
          .where("resource_id", "=", resourceId)
          .where("username", "=", username)
          .execute();
        await audit(tx, actor, "permission.delete", username, { before });
      });
    },

    async renamePermissionTarget(resource, from, to, actor) {
      await metadata.transaction(async (tx) => {
        const moved = await tx
          .updateTable("auth_permissions")
          .set({ resource_id: to })
          .where("resource_type", "=", resource)
          .where("resource_id", "=", from)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) > 0) {
          await audit(tx, actor, "permission.rename_target", from, {
            before: { resource, id: from },
            after: { id: to },
          });
        }
      });
    },

    async listPermissions(filter) {
      return metadata.query(async (db) => {
        let q = db.selectFrom("auth_permissions").selectAll();
        if (filter.username !== undefined) q = q.where("username", "=", filter.username);
        if (filter.resource !== undefined) q = q.where("resource_type", "=", filter.resource);
        if (filter.resourceId !== undefined) q = q.where("resource_id", "=", filter.resourceId);
        const rows = await q.orderBy("resource_type").orderBy("resource_id").orderBy("username").execute();
        return rows.map(toGrant);
      });
    },
  };
  return methods;
}

function toGrant(r: {
  resource_type: string;
  resource_id: string;
  username: string;
  permission: string;
}): PermissionGrant {
  return {
    resource: r.resource_type as PermissionResource,
    resourceId: r.resource_id,
    username: r.username,
    permission: r.permission as ObjectPermission,
  };
}

async function findIn(
  db: Parameters<Parameters<MetadataDb["query"]>[0]>[0],
  resource: PermissionResource,
  resourceId: string,
  username: string,
): Promise<PermissionGrant | undefined> {
  const r = await db
    .selectFrom("auth_permissions")
    .selectAll()
    .where("resource_type", "=", resource)
    .where("resource_id", "=", resourceId)
    .where("username", "=", username)
    .executeTakeFirst();
  return r === undefined ? undefined : toGrant(r);
}
