import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/** MLflow 3 links a model version to the logged model it was registered from (`model_id`). */
export const m0121ModelVersionModelId: Migration = {
  id: "0121",
  name: "model version model_id",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("model_versions").addColumn("model_id", "varchar(64)").execute();
    await db.schema.createIndex("model_versions_model_id").on("model_versions").column("model_id").execute();
  },
};
