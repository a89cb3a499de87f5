import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/** MLflow 3 records which dataset a metric was computed on (logged-model search filters and sorts by it). */
export const m0122MetricDataset: Migration = {
  id: "0122",
  name: "metric dataset",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("metrics").addColumn("dataset_name", "varchar(500)").execute();
    await db.schema.alterTable("metrics").addColumn("dataset_digest", "varchar(36)").execute();
  },
};
