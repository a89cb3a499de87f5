import type { Kysely } from "kysely";
import type { KeelDatabase } from "./schema.js";

/**
 * Advances the `keel_sequences` counter `name` inside the caller's transaction and returns its new
 * value. The update comes first, so its row lock makes concurrent writers take turns.
 */
export async function nextSequenceValue(tx: Kysely<KeelDatabase>, name: string): Promise<number> {
  await tx
    .updateTable("keel_sequences")
    .set((eb) => ({ value: eb("value", "+", 1) }))
    .where("name", "=", name)
    .execute();
  const seq = await tx.selectFrom("keel_sequences").select("value").where("name", "=", name).executeTakeFirstOrThrow();
  return Number(seq.value);
}
