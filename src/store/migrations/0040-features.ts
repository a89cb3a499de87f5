import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Feature store: every applied feature repository, versioned, and the materialization windows
 * that `materialize-incremental` continues from.
 */
export const m0040Features: Migration = {
  id: "0040",
  name: "features",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("feature_repo_versions")
      .addColumn("version", "integer", (c) => c.primaryKey())
      .addColumn("digest", "varchar(64)", (c) => c.notNull())
      .addColumn("definition", "text", (c) => c.notNull())
      .addColumn("source_file", "text", (c) => c.notNull())
      .addColumn("applied_at", "bigint", (c) => c.notNull())
      .addColumn("applied_by", "varchar(255)", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("feature_materializations")
      .addColumn("id", "varchar(64)", (c) => c.primaryKey())
      .addColumn("feature_view", "varchar(255)", (c) => c.notNull())
      .addColumn("start_time", "bigint", (c) => c.notNull())
      .addColumn("end_time", "bigint", (c) => c.notNull())
      .addColumn("rows_written", "bigint", (c) => c.notNull())
      .addColumn("finished_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("feature_materializations_view_end")
      .on("feature_materializations")
      .columns(["feature_view", "end_time"])
      .execute();
  },
};
