import { sql, type Kysely } from "kysely";
import type { Migration, MigrationContext } from "./migration.js";

/** Experiments, runs, params, tags, metric history and latest values, datasets, logged models. */
export const m0001CoreTracking: Migration = {
  id: "0001",
  name: "core tracking",
  async up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
    await db.schema
      .createTable("keel_sequences")
      .addColumn("name", "varchar(64)", (c) => c.primaryKey())
      .addColumn("value", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("experiments")
      .addColumn("experiment_id", "bigint", (c) => c.primaryKey())
      .addColumn("name", "varchar(256)", (c) => c.notNull().unique())
      .addColumn("artifact_location", "varchar(1000)", (c) => c.notNull())
      .addColumn("lifecycle_stage", "varchar(32)", (c) => c.notNull())
      .addColumn("creation_time", "bigint", (c) => c.notNull())
      .addColumn("last_update_time", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("experiment_tags")
      .addColumn("experiment_id", "bigint", (c) =>
        c.notNull().references("experiments.experiment_id").onDelete("cascade"),
      )
      .addColumn("key", "varchar(250)", (c) => c.notNull())
      .addColumn("value", "varchar(5000)", (c) => c.notNull())
      .addPrimaryKeyConstraint("experiment_tags_pk", ["experiment_id", "key"])
      .execute();

    await db.schema
      .createTable("runs")
      .addColumn("run_uuid", "varchar(32)", (c) => c.primaryKey())
      .addColumn("name", "varchar(250)", (c) => c.notNull())
      .addColumn("experiment_id", "bigint", (c) => c.notNull().references("experiments.experiment_id"))
      .addColumn("user_id", "varchar(256)", (c) => c.notNull())
      .addColumn("status", "varchar(20)", (c) => c.notNull())
      .addColumn("start_time", "bigint", (c) => c.notNull())
      .addColumn("end_time", "bigint")
      .addColumn("artifact_uri", "varchar(1000)", (c) => c.notNull())
      .addColumn("lifecycle_stage", "varchar(20)", (c) => c.notNull())
      .addColumn("deleted_time", "bigint")
      .execute();
    await db.schema
      .createIndex("runs_experiment_stage_start")
      .on("runs")
      .columns(["experiment_id", "lifecycle_stage", "start_time"])
      .execute();

    for (const table of ["params", "tags"] as const) {
      await db.schema
        .createTable(table)
        .addColumn("run_uuid", "varchar(32)", (c) => c.notNull().references("runs.run_uuid").onDelete("cascade"))
        .addColumn("key", "varchar(250)", (c) => c.notNull())
        .addColumn("value", "varchar(8000)", (c) => c.notNull())
        .addPrimaryKeyConstraint(`${table}_pk`, ["run_uuid", "key"])
        .execute();
      // Run search filters on (key, value) and joins back by run.
      await db.schema.createIndex(`${table}_key_value`).on(table).columns(["key", "value", "run_uuid"]).execute();
    }

    await db.schema
      .createTable("metrics")
      .addColumn("run_uuid", "varchar(32)", (c) => c.notNull().references("runs.run_uuid").onDelete("cascade"))
      .addColumn("key", "varchar(250)", (c) => c.notNull())
      .addColumn("value", "double precision", (c) => c.notNull())
      .addColumn("is_nan", "integer", (c) => c.notNull())
      .addColumn("timestamp", "bigint", (c) => c.notNull())
      .addColumn("step", "bigint", (c) => c.notNull())
      .addColumn("model_id", "varchar(64)")
      // The same point logged twice is stored once (MLflow ignores exact duplicates).
      .addPrimaryKeyConstraint("metrics_pk", ["run_uuid", "key", "step", "timestamp", "value", "is_nan"])
      .execute();
    await db.schema.createIndex("metrics_model").on("metrics").column("model_id").execute();

    await db.schema
      .createTable("latest_metrics")
      .addColumn("run_uuid", "varchar(32)", (c) => c.notNull().references("runs.run_uuid").onDelete("cascade"))
      .addColumn("key", "varchar(250)", (c) => c.notNull())
      .addColumn("value", "double precision", (c) => c.notNull())
      .addColumn("is_nan", "integer", (c) => c.notNull())
      .addColumn("timestamp", "bigint", (c) => c.notNull())
      .addColumn("step", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("latest_metrics_pk", ["run_uuid", "key"])
      .execute();
    await db.schema
      .createIndex("latest_metrics_key_value")
      .on("latest_metrics")
      .columns(["key", "value", "run_uuid"])
      .execute();

    await db.schema
      .createTable("datasets")
      .addColumn("dataset_uuid", "varchar(36)", (c) => c.primaryKey())
      .addColumn("experiment_id", "bigint", (c) => c.notNull().references("experiments.experiment_id"))
      .addColumn("name", "varchar(500)", (c) => c.notNull())
      .addColumn("digest", "varchar(36)", (c) => c.notNull())
      .addColumn("source_type", "varchar(36)", (c) => c.notNull())
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("schema", "text")
      .addColumn("profile", "text")
      .addUniqueConstraint("datasets_experiment_name_digest", ["experiment_id", "name", "digest"])
      .execute();
    await db.schema
      .createTable("inputs")
      .addColumn("input_uuid", "varchar(36)", (c) => c.primaryKey())
      .addColumn("dataset_uuid", "varchar(36)", (c) => c.notNull().references("datasets.dataset_uuid"))
      .addColumn("run_uuid", "varchar(32)", (c) => c.notNull().references("runs.run_uuid").onDelete("cascade"))
      .addUniqueConstraint("inputs_dataset_run", ["dataset_uuid", "run_uuid"])
      .execute();
    await db.schema.createIndex("inputs_run").on("inputs").column("run_uuid").execute();
    await db.schema
      .createTable("input_tags")
      .addColumn("input_uuid", "varchar(36)", (c) => c.notNull().references("inputs.input_uuid").onDelete("cascade"))
      .addColumn("key", "varchar(255)", (c) => c.notNull())
      .addColumn("value", "varchar(500)", (c) => c.notNull())
      .addPrimaryKeyConstraint("input_tags_pk", ["input_uuid", "key"])
      .execute();

    await db.schema
      .createTable("logged_models")
      .addColumn("model_id", "varchar(64)", (c) => c.primaryKey())
      .addColumn("experiment_id", "bigint", (c) => c.notNull().references("experiments.experiment_id"))
      .addColumn("name", "varchar(500)", (c) => c.notNull())
      .addColumn("artifact_location", "varchar(1000)", (c) => c.notNull())
      .addColumn("creation_timestamp_ms", "bigint", (c) => c.notNull())
      .addColumn("last_updated_timestamp_ms", "bigint", (c) => c.notNull())
      .addColumn("model_type", "varchar(500)", (c) => c.notNull())
      .addColumn("source_run_id", "varchar(32)")
      .addColumn("status", "varchar(32)", (c) => c.notNull())
      .addColumn("status_message", "varchar(1000)", (c) => c.notNull())
      .addColumn("lifecycle_stage", "varchar(32)", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("logged_models_experiment")
      .on("logged_models")
      .columns(["experiment_id", "creation_timestamp_ms"])
      .execute();
    for (const table of ["logged_model_tags", "logged_model_params"] as const) {
      await db.schema
        .createTable(table)
        .addColumn("model_id", "varchar(64)", (c) =>
          c.notNull().references("logged_models.model_id").onDelete("cascade"),
        )
        .addColumn("key", "varchar(255)", (c) => c.notNull())
        .addColumn("value", "varchar(8000)", (c) => c.notNull())
        .addPrimaryKeyConstraint(`${table}_pk`, ["model_id", "key"])
        .execute();
    }

    // MLflow semantics: the "Default" experiment, id 0, always exists.
    await sql`insert into keel_sequences (name, value) values ('experiment_id', 0)`.execute(db);
    await sql`insert into experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
      values (0, 'Default', 'mlflow-artifacts:/0', 'active', ${ctx.now}, ${ctx.now})`.execute(db);
  },
};
