import type { Kysely } from "kysely";
import { addInferenceLogShadows } from "../inference-log-sql.js";
import type { Migration } from "./migration.js";

/** Shadow answers stored in their request's inference-log row instead of rows of their own. */
export const m0012InferenceLogShadows: Migration = {
  id: "0012",
  name: "inference log shadows",
  async up(db: Kysely<unknown>): Promise<void> {
    await addInferenceLogShadows(db);
  },
};
