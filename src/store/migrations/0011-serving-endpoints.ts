import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/** Serving endpoints created through the API, so they survive a restart. */
export const m0011ServingEndpoints: Migration = {
  id: "0011",
  name: "serving endpoints",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("serving_endpoint")
      .ifNotExists()
      .addColumn("name", "varchar(128)", (c) => c.primaryKey())
      .addColumn("model", "varchar(255)", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
