import type { Kysely } from "kysely";
import { createInferenceLogTables } from "../inference-log-sql.js";
import type { Migration } from "./migration.js";

/** The inference log written by serving and read by monitoring. */
export const m0010InferenceLog: Migration = {
  id: "0010",
  name: "inference log",
  async up(db: Kysely<unknown>): Promise<void> {
    await createInferenceLogTables(db);
  },
};
