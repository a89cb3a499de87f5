import type { Kysely } from "kysely";
import { createMonitorObservationTables } from "../monitor-observations-sql.js";
import type { Migration } from "./migration.js";

/** Monitoring results as a time series (drift, data quality, prediction drift, performance). */
export const m0020MonitorObservations: Migration = {
  id: "0020",
  name: "monitor observations",
  async up(db: Kysely<unknown>): Promise<void> {
    await createMonitorObservationTables(db);
  },
};
