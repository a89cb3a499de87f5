import { sql, type Kysely } from "kysely";
import type { Migration } from "./migration.js";

/** Registered models, versions, tags, aliases and their history, webhooks. */
export const m0002Registry: Migration = {
  id: "0002",
  name: "model registry",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("registered_models")
      .addColumn("name", "varchar(256)", (c) => c.primaryKey())
      .addColumn("creation_time", "bigint", (c) => c.notNull())
      .addColumn("last_updated_time", "bigint", (c) => c.notNull())
      .addColumn("description", "varchar(5000)", (c) => c.notNull())
      .addColumn("user_id", "varchar(256)", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("registered_model_tags")
      .addColumn("name", "varchar(256)", (c) =>
        c.notNull().references("registered_models.name").onDelete("cascade").onUpdate("cascade"),
      )
      .addColumn("key", "varchar(250)", (c) => c.notNull())
      .addColumn("value", "varchar(5000)", (c) => c.notNull())
      .addPrimaryKeyConstraint("registered_model_tags_pk", ["name", "key"])
      .execute();
    await db.schema
      .createTable("model_versions")
      .addColumn("name", "varchar(256)", (c) =>
        c.notNull().references("registered_models.name").onDelete("cascade").onUpdate("cascade"),
      )
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("creation_time", "bigint", (c) => c.notNull())
      .addColumn("last_updated_time", "bigint", (c) => c.notNull())
      .addColumn("description", "varchar(5000)", (c) => c.notNull())
      .addColumn("user_id", "varchar(256)", (c) => c.notNull())
      // "Deleted_Internal" marks a deleted version, so version numbers are never reused (MLflow).
      .addColumn("current_stage", "varchar(20)", (c) => c.notNull())
      .addColumn("source", "varchar(1000)", (c) => c.notNull())
      .addColumn("run_id", "varchar(32)", (c) => c.notNull())
      .addColumn("run_link", "varchar(1000)", (c) => c.notNull())
      .addColumn("status", "varchar(20)", (c) => c.notNull())
      .addColumn("status_message", "varchar(500)", (c) => c.notNull())
      .addColumn("checksum", "varchar(64)")
      .addColumn("signature", "text")
      .addColumn("lineage", "text")
      .addPrimaryKeyConstraint("model_versions_pk", ["name", "version"])
      .execute();
    await db.schema
      .createTable("model_version_tags")
      .addColumn("name", "varchar(256)", (c) => c.notNull())
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("key", "varchar(250)", (c) => c.notNull())
      .addColumn("value", "varchar(5000)", (c) => c.notNull())
      .addPrimaryKeyConstraint("model_version_tags_pk", ["name", "version", "key"])
      .addForeignKeyConstraint(
        "model_version_tags_fk",
        ["name", "version"],
        "model_versions",
        ["name", "version"],
        (c) => c.onDelete("cascade").onUpdate("cascade"),
      )
      .execute();
    await db.schema
      .createTable("registered_model_aliases")
      .addColumn("name", "varchar(256)", (c) =>
        c.notNull().references("registered_models.name").onDelete("cascade").onUpdate("cascade"),
      )
      .addColumn("alias", "varchar(256)", (c) => c.notNull())
      .addColumn("version", "integer", (c) => c.notNull())
      .addPrimaryKeyConstraint("registered_model_aliases_pk", ["name", "alias"])
      .execute();
    await db.schema
      .createTable("alias_history")
      .addColumn("seq", "bigint", (c) => c.primaryKey())
      .addColumn("name", "varchar(256)", (c) =>
        c.notNull().references("registered_models.name").onDelete("cascade").onUpdate("cascade"),
      )
      .addColumn("alias", "varchar(256)", (c) => c.notNull())
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("set_at", "bigint", (c) => c.notNull())
      .addColumn("user_id", "varchar(256)", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("alias_history_name_alias")
      .on("alias_history")
      .columns(["name", "alias", "seq"])
      .execute();
    await db.schema
      .createTable("webhooks")
      .addColumn("id", "varchar(32)", (c) => c.primaryKey())
      .addColumn("url", "varchar(2000)", (c) => c.notNull())
      .addColumn("events", "text", (c) => c.notNull())
      .addColumn("model_name", "varchar(256)")
      // HMAC key of this webhook; null means the server-wide webhook secret.
      .addColumn("secret", "varchar(512)")
      .addColumn("creation_timestamp", "bigint", (c) => c.notNull())
      .execute();
    await sql`insert into keel_sequences (name, value) values ('alias_history', 0)`.execute(db);
  },
};
