import type { Kysely } from "kysely";
import { createLabelTables } from "../labels-sql.js";
import type { Migration } from "./migration.js";

/** Delayed labels, joined to the inference log by request id or by entity id and event time. */
export const m0022Labels: Migration = {
  id: "0022",
  name: "labels",
  async up(db: Kysely<unknown>): Promise<void> {
    await createLabelTables(db);
  },
};
