import type { Kysely } from "kysely";
import { createAlertTables } from "../alert-history-sql.js";
import type { Migration } from "./migration.js";

/** Alert history: fired, acknowledged and resolved monitoring alerts. */
export const m0023Alerts: Migration = {
  id: "0023",
  name: "alerts",
  async up(db: Kysely<unknown>): Promise<void> {
    await createAlertTables(db);
  },
};
