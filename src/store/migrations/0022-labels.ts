import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Delayed labels, joined to the inference log by request id or by entity id and event time: the
 * table and the indexes the join reads by.
 */
export const m0022Labels: Migration = {
  id: "0022",
  name: "labels",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("labels")
      .addColumn("label_key", "varchar(600)", (c) => c.primaryKey())
      .addColumn("request_id", "varchar(255)")
      .addColumn("entity_id", "varchar(255)")
      .addColumn("event_time", "bigint")
      .addColumn("label", "double precision", (c) => c.notNull())
      .addColumn("received_at", "bigint", (c) => c.notNull())
      .addColumn("source", "varchar(255)", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("labels_request").on("labels").column("request_id").execute();
    await db.schema.createIndex("labels_entity_time").on("labels").columns(["entity_id", "event_time"]).execute();
  },
};
