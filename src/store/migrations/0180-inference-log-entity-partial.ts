import { sql, type Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * The inference log's entity index holds only rows that have an entity: every lookup by entity
 * (`entity_id = ?`, `entity_id in (…)`) excludes null, so the entries of rows without one (every
 * row of an endpoint without an entity key) were never read, yet each insert paid for one.
 */
export const m0180InferenceLogEntityPartial: Migration = {
  id: "0180",
  name: "inference log entity index on rows with an entity",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("inference_log_entity").ifExists().execute();
    await db.schema
      .createIndex("inference_log_entity")
      .on("inference_log")
      .column("entity_id")
      .where(sql.ref("entity_id"), "is not", null)
      .execute();
  },
};
