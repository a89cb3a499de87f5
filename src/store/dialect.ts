import type { Kysely } from "kysely";
import type { Dialect } from "./migrations/index.js";
import type { KeelDatabase } from "./schema.js";

/** What a dialect module (`sqlite/`, `postgres/`) provides to `openMetadataDb`. */
export interface DialectHandle {
  readonly db: Kysely<KeelDatabase>;
  readonly dialect: Dialect;
  translateError(error: unknown): unknown;
  /** Whether a transaction that failed with this driver error may simply be run again (lock contention). */
  retryable(error: unknown): boolean;
  /** Runs `fn` (the migrations) while holding the dialect's cross-process migration lock. */
  withMigrationLock<T>(fn: (db: Kysely<KeelDatabase>) => Promise<T>): Promise<T>;
  /** Change notifications from other processes (PostgreSQL only); see `MetadataDb.watchChanges`. */
  watchChanges?(onChange: (table: string) => void, onError: (error: unknown) => void): ChangeWatch;
}

/** A running subscription to change notifications. */
export interface ChangeWatch {
  /** Resolves once the subscription is listening (or its first attempt failed, reported through `onError`). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}
