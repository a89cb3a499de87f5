import { sql, type Kysely } from "kysely";
import type { KeelDatabase } from "./schema.js";

/** The key-value tag tables, each with the columns that name a tag's owner. */
export interface TagOwners {
  experiment_tags: { experiment_id: number };
  tags: { run_uuid: string };
  logged_model_tags: { model_id: string };
  registered_model_tags: { name: string };
  model_version_tags: { name: string; version: number };
}

/**
 * Sets each tag of `owner` in `table` inside the caller's transaction: inserted when new, its
 * value replaced when the key is already set. Tags are written in order, so the last of a repeated
 * key wins.
 */
export async function upsertTags<T extends keyof TagOwners>(
  tx: Kysely<KeelDatabase>,
  table: T,
  owner: TagOwners[T],
  tags: readonly { readonly key: string; readonly value: string }[],
): Promise<void> {
  const ownerColumns = Object.keys(owner).map((c) => sql.ref(c));
  const ownerValues = Object.values<string | number>(owner);
  for (const t of tags) {
    await sql`insert into ${sql.table(table)} (${sql.join([...ownerColumns, sql.ref("key"), sql.ref("value")])})
      values (${sql.join([...ownerValues, t.key, t.value])})
      on conflict (${sql.join([...ownerColumns, sql.ref("key")])}) do update set value = excluded.value`.execute(tx);
  }
}
