import { sql, type Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * At most one unresolved alert per dedup key, held by the database: replicas that evaluate the same
 * rule at once (the scheduler on one, `POST /monitoring/run` on another) cannot both fire it.
 * Duplicates fired before this step are resolved first, keeping the newest open.
 */
export const m0170AlertOpenOnce: Migration = {
  id: "0170",
  name: "one unresolved alert per dedup key",
  async up(db: Kysely<unknown>, ctx): Promise<void> {
    await sql`update alerts set status = 'resolved', resolved_at = ${ctx.now}
where status <> 'resolved' and exists (
  select 1 from alerts newer
  where newer.dedup_key = alerts.dedup_key and newer.status <> 'resolved'
    and (newer.fired_at > alerts.fired_at or (newer.fired_at = alerts.fired_at and newer.id > alerts.id)))`.execute(db);
    await db.schema
      .createIndex("alerts_one_unresolved")
      .on("alerts")
      .column("dedup_key")
      .unique()
      .where(sql.ref("status"), "<>", "resolved")
      .execute();
  },
};
