import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Users who sign in with a username and password (HTTP Basic, as MLflow's auth app), and their
 * permissions on single experiments and registered models (READ, EDIT, MANAGE, NO_PERMISSIONS).
 */
export const m0120UsersPermissions: Migration = {
  id: "0120",
  name: "users and object permissions",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("auth_users")
      .addColumn("id", "varchar(32)", (c) => c.primaryKey())
      .addColumn("username", "varchar(256)", (c) => c.notNull().unique())
      .addColumn("password_hash", "varchar(512)", (c) => c.notNull())
      .addColumn("role", "varchar(16)", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "varchar(256)", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("auth_permissions")
      .addColumn("resource_type", "varchar(32)", (c) => c.notNull())
      .addColumn("resource_id", "varchar(1000)", (c) => c.notNull())
      .addColumn("username", "varchar(256)", (c) => c.notNull())
      .addColumn("permission", "varchar(32)", (c) => c.notNull())
      .addPrimaryKeyConstraint("auth_permissions_pk", ["resource_type", "resource_id", "username"])
      .execute();
    await db.schema.createIndex("auth_permissions_user").on("auth_permissions").column("username").execute();
  },
};
