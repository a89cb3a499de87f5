import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * The human review queue: one row per served decision a review rule matched, keyed by endpoint
 * and request id, holding the verdict once a reviewer decides; indexed for the queue's listing
 * (status, oldest first) and the recent verdicts the queue metrics read.
 */
export const m0060ReviewQueue: Migration = {
  id: "0060",
  name: "review-queue",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("review_items")
      .addColumn("endpoint", "varchar(128)", (c) => c.notNull())
      .addColumn("request_id", "varchar(255)", (c) => c.notNull())
      .addColumn("queued_at", "bigint", (c) => c.notNull())
      .addColumn("model_name", "varchar(255)", (c) => c.notNull())
      .addColumn("model_version", "varchar(64)", (c) => c.notNull())
      .addColumn("route", "varchar(32)", (c) => c.notNull())
      .addColumn("entity_id", "varchar(255)")
      .addColumn("score", "double precision", (c) => c.notNull())
      .addColumn("model_decision", "varchar(255)", (c) => c.notNull())
      .addColumn("interim_decision", "varchar(255)", (c) => c.notNull())
      .addColumn("positive_decision", "varchar(255)", (c) => c.notNull())
      .addColumn("negative_decision", "varchar(255)", (c) => c.notNull())
      .addColumn("reasons", "text", (c) => c.notNull())
      .addColumn("inputs", "text", (c) => c.notNull())
      .addColumn("status", "varchar(16)", (c) => c.notNull())
      .addColumn("claimed_by", "varchar(256)")
      .addColumn("claimed_at", "bigint")
      .addColumn("verdict", "varchar(255)")
      .addColumn("verdict_reason", "text")
      .addColumn("decided_by", "varchar(256)")
      .addColumn("decided_at", "bigint")
      .addPrimaryKeyConstraint("review_items_pk", ["endpoint", "request_id"])
      .execute();
    await db.schema.createIndex("review_items_status").on("review_items").columns(["status", "queued_at"]).execute();
    await db.schema.createIndex("review_items_decided").on("review_items").column("decided_at").execute();
  },
};
