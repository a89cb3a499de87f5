import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Monitoring results as a time series (drift, data quality, prediction drift, performance): the
 * table, keyed by what identifies one observation, and the index the API and the alert rules read by.
 */
export const m0020MonitorObservations: Migration = {
  id: "0020",
  name: "monitor observations",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("monitor_observations")
      .addColumn("model_name", "varchar(255)", (c) => c.notNull())
      .addColumn("model_version", "varchar(64)", (c) => c.notNull())
      .addColumn("endpoint", "varchar(255)", (c) => c.notNull())
      .addColumn("window_start", "bigint", (c) => c.notNull())
      .addColumn("window_end", "bigint", (c) => c.notNull())
      .addColumn("kind", "varchar(32)", (c) => c.notNull())
      .addColumn("metric", "varchar(128)", (c) => c.notNull())
      .addColumn("feature", "varchar(255)", (c) => c.notNull())
      .addColumn("segment", "varchar(255)", (c) => c.notNull())
      .addColumn("value", "double precision", (c) => c.notNull())
      .addColumn("severity", "varchar(32)")
      .addColumn("detail", "text")
      .addPrimaryKeyConstraint("monitor_observations_pk", [
        "model_name",
        "model_version",
        "endpoint",
        "window_start",
        "window_end",
        "kind",
        "metric",
        "feature",
        "segment",
      ])
      .execute();
    await db.schema
      .createIndex("monitor_observations_model_window")
      .on("monitor_observations")
      .columns(["model_name", "window_start"])
      .execute();
  },
};
