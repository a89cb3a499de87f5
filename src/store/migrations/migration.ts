import type { Kysely } from "kysely";

export type Dialect = "sqlite" | "postgres";

/**
 * One schema step. `id` is a four-digit number ("0001"); migrations run in the order of
 * `migrations/index.ts`, each once, inside its own transaction. Write the body with Kysely's
 * schema builder so the same step runs on SQLite and PostgreSQL; `dialect` is there for the rare
 * column type that differs; `now` (epoch ms, from the injected clock) for seeded rows.
 */
export interface Migration {
  readonly id: string;
  readonly name: string;
  up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void>;
}

export interface MigrationContext {
  readonly dialect: Dialect;
  readonly now: number;
}
