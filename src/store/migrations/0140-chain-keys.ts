import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Sealed hash chains: the id of the audit key whose HMAC sealed each audit row and decision record
 * (null for rows linked by plain sha256, written without a keyring).
 */
export const m0140ChainKeys: Migration = {
  id: "0140",
  name: "chain keys",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("audit_log").addColumn("key_id", "varchar(64)").execute();
    await db.schema.alterTable("inference_log").addColumn("key_id", "varchar(64)").execute();
  },
};
