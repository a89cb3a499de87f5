import { sql, type Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Shadow answers stored in their request's inference-log row instead of rows of their own, found
 * by time through a partial index.
 */
export const m0012InferenceLogShadows: Migration = {
  id: "0012",
  name: "inference log shadows",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("inference_log").addColumn("shadows", "text").execute();
    await db.schema
      .createIndex("inference_log_shadow_time")
      .ifNotExists()
      .on("inference_log")
      .column("time")
      .where(sql.ref("shadows"), "is not", null)
      .execute();
  },
};
