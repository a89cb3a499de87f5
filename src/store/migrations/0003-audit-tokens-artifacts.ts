import { sql, type Kysely } from "kysely";
import type { Migration } from "./migration.js";

/** The hash-chained audit log and its head, bearer tokens, and the run-artifact path index. */
export const m0003AuditTokensArtifacts: Migration = {
  id: "0003",
  name: "audit log, tokens, artifact paths",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("audit_log")
      .addColumn("seq", "bigint", (c) => c.primaryKey())
      .addColumn("time", "bigint", (c) => c.notNull())
      .addColumn("actor", "varchar(256)", (c) => c.notNull())
      .addColumn("action", "varchar(128)", (c) => c.notNull())
      .addColumn("target_type", "varchar(64)", (c) => c.notNull())
      .addColumn("target_id", "varchar(1000)", (c) => c.notNull())
      .addColumn("before", "text")
      .addColumn("after", "text")
      .addColumn("prev_hash", "varchar(64)", (c) => c.notNull())
      .addColumn("hash", "varchar(64)", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("audit_log_target").on("audit_log").columns(["target_type", "target_id"]).execute();
    // One row holding the chain's tip; updating it first serialises concurrent appenders.
    await db.schema
      .createTable("audit_head")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("seq", "bigint", (c) => c.notNull())
      .addColumn("hash", "varchar(64)", (c) => c.notNull())
      .execute();
    await sql`insert into audit_head (id, seq, hash) values (1, 0, ${"0".repeat(64)})`.execute(db);

    await db.schema
      .createTable("auth_tokens")
      .addColumn("id", "varchar(32)", (c) => c.primaryKey())
      .addColumn("name", "varchar(256)", (c) => c.notNull())
      .addColumn("token_hash", "varchar(64)", (c) => c.notNull().unique())
      .addColumn("role", "varchar(16)", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "varchar(256)", (c) => c.notNull())
      .addColumn("revoked_at", "bigint")
      .execute();

    await db.schema
      .createTable("artifact_files")
      .addColumn("path", "varchar(2000)", (c) => c.primaryKey())
      .addColumn("sha256", "varchar(64)", (c) => c.notNull())
      .addColumn("size", "bigint", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
