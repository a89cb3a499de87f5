import type { Clock } from "../runtime/index.js";
import { createHash, randomBytes } from "node:crypto";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import { appendAudit } from "./audit.js";
import type { MetadataDb } from "./metadata-db.js";
import type { AuthTokensTable } from "./schema.js";

/**
 * Roles. `reader` ⊂ `predictor` ⊂ `writer` ⊂ `approver` ⊂ `admin` is a chain; `reviewer` is a branch off `reader`:
 * it adds deciding review-queue items and nothing else, and only `admin` includes it, so a pipeline's
 * writer token cannot label its own decisions and a reviewer cannot change models or endpoints.
 * `predictor` adds scoring (OIP infer, `/invocations`, keel predict) to reading and nothing else.
 */
export const ROLES = ["reader", "predictor", "writer", "reviewer", "approver", "admin"] as const;
export type Role = (typeof ROLES)[number];

export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly revokedAt: number | null;
}

export interface TokenStore {
  /** Issues a bearer token; the secret is returned once and only its sha256 is stored. */
  create(input: { name: string; role: Role }, actor?: { userId: string }): Promise<{ token: string; info: TokenInfo }>;
  list(options?: { includeRevoked?: boolean }): Promise<readonly TokenInfo[]>;
  revoke(id: string, actor?: { userId: string }): Promise<void>;
  /** The active (not revoked) token with this secret, or undefined. */
  lookup(token: string): Promise<TokenInfo | undefined>;
  /** The caller a bearer token identifies (what the server's auth hook needs), or undefined. */
  verify(token: string): Promise<{ tokenId: string; name: string; role: Role } | undefined>;
}

const INCLUDES: Readonly<Record<Role, readonly Role[]>> = {
  reader: ["reader"],
  predictor: ["reader", "predictor"],
  writer: ["reader", "predictor", "writer"],
  reviewer: ["reader", "reviewer"],
  approver: ["reader", "predictor", "writer", "approver"],
  admin: ROLES,
};

/** Whether `role` carries the rights of `needed` (admin ⊇ approver ⊇ writer ⊇ predictor ⊇ reader; admin ⊇ reviewer ⊇ reader). */
export function roleAllows(role: Role, needed: Role): boolean {
  return INCLUDES[role].includes(needed);
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

function toInfo(r: AuthTokensTable): TokenInfo {
  return {
    id: r.id,
    name: r.name,
    role: r.role as Role,
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}

export function createTokenStore(metadata: MetadataDb, deps: { clock?: Clock } = {}): TokenStore {
  const clock = deps.clock ?? Date.now;
  return {
    async create(input, actor) {
      if (typeof input.name !== "string" || input.name.trim() === "" || input.name.length > 256) {
        throw new InvalidParameterError(`token name ${JSON.stringify(input.name)} must be 1 to 256 characters`, {
          details: { field: "name", value: input.name },
        });
      }
      if (!isRole(input.role)) {
        throw new InvalidParameterError(`token role ${JSON.stringify(input.role)} must be one of ${ROLES.join(", ")}`, {
          details: { field: "role", value: input.role },
        });
      }
      const token = `keel_${randomBytes(32).toString("base64url")}`;
      const row: AuthTokensTable = {
        id: randomBytes(8).toString("hex"),
        name: input.name,
        token_hash: hashToken(token),
        role: input.role,
        created_at: clock(),
        created_by: actor?.userId ?? "anonymous",
        revoked_at: null,
      };
      return metadata.transaction(async (tx) => {
        await tx.insertInto("auth_tokens").values(row).execute();
        await appendAudit(
          tx,
          {
            actor: row.created_by,
            action: "token.create",
            targetType: "token",
            targetId: row.id,
            after: { name: row.name, role: row.role },
          },
          row.created_at,
          metadata.chainKeyring?.current,
        );
        return { token, info: toInfo(row) };
      });
    },

    async list(options = {}) {
      return metadata.query(async (db) => {
        let q = db.selectFrom("auth_tokens").selectAll();
        if (options.includeRevoked !== true) q = q.where("revoked_at", "is", null);
        return (await q.orderBy("created_at").orderBy("id").execute()).map(toInfo);
      });
    },

    async revoke(id, actor) {
      return metadata.transaction(async (tx) => {
        const row = await tx.selectFrom("auth_tokens").selectAll().where("id", "=", id).executeTakeFirst();
        if (row === undefined || row.revoked_at !== null)
          throw new NotFoundError(`active token with id ${JSON.stringify(id)} does not exist`);
        const now = clock();
        await tx.updateTable("auth_tokens").set({ revoked_at: now }).where("id", "=", id).execute();
        await appendAudit(
          tx,
          {
            actor: actor?.userId ?? "anonymous",
            action: "token.revoke",
            targetType: "token",
            targetId: id,
            before: { name: row.name, role: row.role },
          },
          now,
          metadata.chainKeyring?.current,
        );
      });
    },

    async lookup(token) {
      if (typeof token !== "string" || token === "") return Promise.resolve(undefined);
      return metadata.query(async (db) => {
        const row = await db
          .selectFrom("auth_tokens")
          .selectAll()
          .where("token_hash", "=", hashToken(token))
          .where("revoked_at", "is", null)
          .executeTakeFirst();
        return row === undefined ? undefined : toInfo(row);
      });
    },

    async verify(token) {
      const info = await this.lookup(token);
      return info === undefined ? undefined : { tokenId: info.id, name: info.name, role: info.role };
    },
  };
}
