import { sql, type Kysely } from "kysely";
import type { Migration } from "./migration.js";

/** Tables whose writes replicas must see at once: alias moves, endpoints, canary decisions and approvals. */
const WATCHED_TABLES = ["registered_model_aliases", "serving_endpoint", "serving_canary", "canary_approval"];

/**
 * Leases of scheduled jobs (one holder across replicas, with an expiry and the job's checkpoint).
 * On PostgreSQL, also a statement trigger on the tables serving follows that sends
 * `NOTIFY keel_changes, '<schema>.<table>'`, so every replica re-reads them without waiting for its poll.
 */
export const m0150SchedulerLeases: Migration = {
  id: "0150",
  name: "scheduler leases and change notifications",
  async up(db: Kysely<unknown>, ctx): Promise<void> {
    await db.schema
      .createTable("scheduler_leases")
      .ifNotExists()
      .addColumn("job", "varchar(255)", (c) => c.primaryKey())
      .addColumn("holder", "varchar(255)", (c) => c.notNull())
      .addColumn("acquired_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("checkpoint", "text")
      .execute();
    if (ctx.dialect !== "postgres") return;
    await sql`create or replace function keel_notify_change() returns trigger language plpgsql as $$
begin
  perform pg_notify('keel_changes', current_schema() || '.' || tg_table_name);
  return null;
end
$$`.execute(db);
    for (const table of WATCHED_TABLES) {
      await sql`drop trigger if exists keel_change_notify on ${sql.id(table)}`.execute(db);
      await sql`create trigger keel_change_notify after insert or update or delete on ${sql.id(table)}
for each statement execute function keel_notify_change()`.execute(db);
    }
  },
};
