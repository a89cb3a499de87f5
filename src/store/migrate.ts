import type { Clock } from "../runtime/index.js";
import { sql, type Kysely } from "kysely";
import { InvalidStateError } from "../errors.js";
import type { Dialect, Migration } from "./migrations/index.js";

export interface MigrationResult {
  /** Ids applied by this call, in order. */
  readonly applied: readonly string[];
}

/**
 * Applies every migration of `list` not yet recorded in `keel_migrations`, in order, each in its
 * own transaction together with its record. The first statement of each transaction writes the
 * lock row, so two processes migrating one database at once take turns (SQLite's write lock,
 * PostgreSQL's row lock) and each step runs exactly once.
 */
export async function runMigrations(
  db: Kysely<unknown>,
  dialect: Dialect,
  list: readonly Migration[],
  now: Clock,
): Promise<MigrationResult> {
  checkOrder(list);
  await db.schema
    .createTable("keel_migrations")
    .ifNotExists()
    .addColumn("id", "varchar(16)", (c) => c.primaryKey())
    .addColumn("name", "varchar(256)", (c) => c.notNull())
    .addColumn("applied_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("keel_migration_lock")
    .ifNotExists()
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("locked_at", "bigint", (c) => c.notNull())
    .execute();
  await sql`insert into keel_migration_lock (id, locked_at) values (1, 0) on conflict (id) do nothing`.execute(db);

  const applied: string[] = [];
  for (const m of list) {
    const done = await db.transaction().execute(async (tx) => {
      await sql`update keel_migration_lock set locked_at = ${now()} where id = 1`.execute(tx);
      const seen = await sql<{ id: string }>`select id from keel_migrations where id = ${m.id}`.execute(tx);
      if (seen.rows.length > 0) return false;
      await m.up(tx, { dialect, now: now() });
      await sql`insert into keel_migrations (id, name, applied_at) values (${m.id}, ${m.name}, ${now()})`.execute(tx);
      return true;
    });
    if (done) applied.push(m.id);
  }
  return { applied };
}

function checkOrder(list: readonly Migration[]): void {
  let previous = "";
  for (const m of list) {
    if (!/^\d{4}$/.test(m.id) || m.id <= previous) {
      throw new InvalidStateError(
        `migrations: id ${JSON.stringify(m.id)} (${m.name}) must be four digits, after ${previous || "none"}`,
      );
    }
    previous = m.id;
  }
}
