import { sql, type Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Decision records: the inference log's rows become hash-chained decision records (a sequence
 * number, the previous row's hash and their own), with what an auditor needs beyond the inference
 * log (caller, artifact sha256, threshold, inputs as scored, reason codes); the chain's head; legal
 * holds; and the gaps that retention cut into the chain.
 */
export const m0050DecisionRecords: Migration = {
  id: "0050",
  name: "decision records",
  async up(db: Kysely<unknown>): Promise<void> {
    for (const [column, type] of [
      ["seq", "bigint"],
      ["prev_hash", "varchar(64)"],
      ["hash", "varchar(64)"],
      ["caller", "varchar(255)"],
      ["artifact_sha256", "varchar(64)"],
      ["threshold", "double precision"],
      ["scored", "text"],
      ["reasons", "text"],
    ] as const) {
      await db.schema.alterTable("inference_log").addColumn(column, type).execute();
    }
    await db.schema.createIndex("inference_log_seq").unique().on("inference_log").column("seq").execute();

    // One row holding the chain's tip; updating it first serialises concurrent writers.
    await db.schema
      .createTable("decision_head")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("seq", "bigint", (c) => c.notNull())
      .addColumn("hash", "varchar(64)", (c) => c.notNull())
      .execute();
    await sql`insert into decision_head (id, seq, hash) values (1, 0, ${"0".repeat(64)})`.execute(db);

    await db.schema
      .createTable("decision_holds")
      .addColumn("request_id", "varchar(255)", (c) => c.primaryKey())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("actor", "varchar(255)", (c) => c.notNull())
      .addColumn("time", "bigint", (c) => c.notNull())
      .execute();

    // A run of records retention deleted: verification accepts exactly these gaps.
    await db.schema
      .createTable("decision_pruned")
      .addColumn("from_seq", "bigint", (c) => c.primaryKey())
      .addColumn("to_seq", "bigint", (c) => c.notNull())
      .addColumn("last_hash", "varchar(64)", (c) => c.notNull())
      .addColumn("time", "bigint", (c) => c.notNull())
      .execute();
  },
};
