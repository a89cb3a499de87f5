import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Canary rollouts kept in the metadata database so a restart resumes them (step, start times,
 * decisions), and the approvals that let a finished canary move the `champion` alias.
 */
export const m0070ServingCanaries: Migration = {
  id: "0070",
  name: "serving canaries",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("serving_canary")
      .ifNotExists()
      .addColumn("endpoint", "varchar(128)", (c) => c.primaryKey())
      .addColumn("model_name", "varchar(255)", (c) => c.notNull())
      .addColumn("model_version", "varchar(64)", (c) => c.notNull())
      .addColumn("status", "varchar(32)", (c) => c.notNull())
      .addColumn("step", "integer", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("step_started_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addColumn("reason", "text")
      .addColumn("decisions", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("canary_approval")
      .ifNotExists()
      .addColumn("model_name", "varchar(255)", (c) => c.notNull())
      .addColumn("model_version", "varchar(64)", (c) => c.notNull())
      .addColumn("approver", "varchar(256)", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("approved_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("canary_approval_pk", ["model_name", "model_version"])
      .execute();
  },
};
