import type { Kysely } from "kysely";
import { createServingEndpointTable } from "../serving-endpoints.js";
import type { Migration } from "./migration.js";

/** Serving endpoints created through the API, so they survive a restart. */
export const m0011ServingEndpoints: Migration = {
  id: "0011",
  name: "serving endpoints",
  async up(db: Kysely<unknown>): Promise<void> {
    await createServingEndpointTable(db);
  },
};
