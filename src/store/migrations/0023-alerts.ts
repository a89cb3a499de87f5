import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Alert history (fired, acknowledged and resolved monitoring alerts) and the indexes the engine and
 * the API read by.
 */
export const m0023Alerts: Migration = {
  id: "0023",
  name: "alerts",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("alerts")
      .addColumn("id", "varchar(32)", (c) => c.primaryKey())
      .addColumn("rule_id", "varchar(128)", (c) => c.notNull())
      .addColumn("tier", "varchar(16)", (c) => c.notNull())
      .addColumn("dedup_key", "varchar(1024)", (c) => c.notNull())
      .addColumn("model_name", "varchar(255)", (c) => c.notNull())
      .addColumn("model_version", "varchar(64)")
      .addColumn("endpoint", "varchar(255)")
      .addColumn("feature", "varchar(255)")
      .addColumn("segment", "varchar(255)")
      .addColumn("status", "varchar(16)", (c) => c.notNull())
      .addColumn("summary", "varchar(1024)", (c) => c.notNull())
      .addColumn("value", "double precision", (c) => c.notNull())
      .addColumn("threshold", "double precision", (c) => c.notNull())
      .addColumn("window_start", "bigint", (c) => c.notNull())
      .addColumn("window_end", "bigint", (c) => c.notNull())
      .addColumn("fired_at", "bigint", (c) => c.notNull())
      .addColumn("last_seen_at", "bigint", (c) => c.notNull())
      .addColumn("resolved_at", "bigint")
      .addColumn("acknowledged_at", "bigint")
      .addColumn("acknowledged_by", "varchar(256)")
      .addColumn("detail", "text")
      .execute();
    await db.schema.createIndex("alerts_dedup").on("alerts").columns(["dedup_key", "fired_at"]).execute();
    await db.schema.createIndex("alerts_model_fired").on("alerts").columns(["model_name", "fired_at"]).execute();
  },
};
