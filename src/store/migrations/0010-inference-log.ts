import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/** The inference log written by serving and read by monitoring, and the indexes monitoring queries by. */
export const m0010InferenceLog: Migration = {
  id: "0010",
  name: "inference log",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("inference_log")
      .ifNotExists()
      .addColumn("request_id", "varchar(255)", (c) => c.notNull())
      .addColumn("time", "bigint", (c) => c.notNull())
      .addColumn("endpoint", "varchar(255)", (c) => c.notNull())
      .addColumn("model_name", "varchar(255)", (c) => c.notNull())
      .addColumn("model_version", "varchar(64)", (c) => c.notNull())
      .addColumn("route", "varchar(32)", (c) => c.notNull())
      .addColumn("entity_id", "varchar(255)")
      .addColumn("features", "text", (c) => c.notNull())
      .addColumn("outputs", "text", (c) => c.notNull())
      .addColumn("latency_ms", "double precision", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("inference_log_endpoint_time")
      .ifNotExists()
      .on("inference_log")
      .columns(["endpoint", "time"])
      .execute();
    await db.schema
      .createIndex("inference_log_model_time")
      .ifNotExists()
      .on("inference_log")
      .columns(["model_name", "model_version", "time"])
      .execute();
    await db.schema
      .createIndex("inference_log_request")
      .ifNotExists()
      .on("inference_log")
      .column("request_id")
      .execute();
    await db.schema.createIndex("inference_log_entity").ifNotExists().on("inference_log").column("entity_id").execute();
  },
};
