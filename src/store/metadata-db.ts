import type { Clock } from "../runtime/index.js";
import type { Kysely, Transaction } from "kysely";
import { InvalidParameterError } from "../errors.js";
import { runMigrations, type MigrationResult } from "./migrate.js";
import { migrations, type Dialect } from "./migrations/index.js";
import { openPostgres } from "./postgres/open.js";
import type { KeelDatabase } from "./schema.js";
import { openSqlite } from "./sqlite/open.js";
import type { ChangeWatch, DialectHandle } from "./dialect.js";
import type { ChainKeyring } from "./hash-chain.js";

export type { ChangeWatch, DialectHandle } from "./dialect.js";

/**
 * The metadata database: one Kysely instance on SQLite or PostgreSQL. Opening does no I/O; the
 * driver is imported and connected on the first query.
 */
export interface MetadataDb {
  readonly db: Kysely<KeelDatabase>;
  readonly dialect: Dialect;
  /**
   * The keys that seal the audit log's and decision records' rows (HMAC-SHA256), kept outside the
   * database; undefined: rows are linked by plain sha256.
   */
  readonly chainKeyring: ChainKeyring | undefined;
  /** Driver error → KeelError (unique violation → ConflictError, busy → UnavailableError); other errors unchanged. */
  translateError(error: unknown): unknown;
  /** Runs `fn` on the database; a driver error comes out translated. */
  query<T>(fn: (db: Kysely<KeelDatabase>) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` in one transaction; a driver error comes out translated. A transaction that lost a
   * lock race (SQLite busy, PostgreSQL serialization failure or deadlock) is run again after a short
   * wait, a few times, before the busy error (503) is thrown.
   */
  transaction<T>(fn: (tx: Transaction<KeelDatabase>) => Promise<T>): Promise<T>;
  /** Runs every pending migration of `migrations/index.ts`. */
  migrate(now?: Clock): Promise<MigrationResult>;
  /**
   * Calls `onChange(table)` when another connection writes one of the tables serving follows
   * (aliases, endpoints, canaries, approvals: migration 0150's triggers). PostgreSQL only — on
   * SQLite it is undefined and readers poll. A lost connection is reported to `onError` and
   * re-established; after a reconnect `onChange("*")` is called, since changes may have been missed.
   */
  readonly watchChanges?: (onChange: (table: string) => void, onError: (error: unknown) => void) => ChangeWatch;
  close(): Promise<void>;
}

/** Waits before each new attempt of a transaction that lost a lock race (ms); their count is the retries. */
const RETRY_WAITS_MS = [10, 40, 160, 640];

async function withRetries<T>(handle: DialectHandle, work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      const wait = RETRY_WAITS_MS[attempt];
      if (wait === undefined || !handle.retryable(e)) throw e;
      // Jitter so that writers which collided do not collide again.
      await new Promise((resolve) => setTimeout(resolve, wait * (0.5 + Math.random())));
    }
  }
}

/**
 * `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, `sqlite::memory:` (MLflow's forms),
 * or `postgresql://user@host:port/db` (also `postgres://`; `?schema=name` sets the search path).
 */
export function openMetadataDb(uri: string, options: { chainKeyring?: ChainKeyring | undefined } = {}): MetadataDb {
  let handle: DialectHandle;
  if (uri.startsWith("sqlite:")) handle = openSqlite(uri);
  else if (uri.startsWith("postgresql://") || uri.startsWith("postgres://")) handle = openPostgres(uri);
  else {
    throw new InvalidParameterError(
      `backend-store-uri ${JSON.stringify(uri)} must start with sqlite:// or postgresql://`,
      { details: { field: "backendStoreUri", value: uri } },
    );
  }
  const translated = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (e) {
      throw handle.translateError(e);
    }
  };
  return {
    db: handle.db,
    dialect: handle.dialect,
    chainKeyring: options.chainKeyring,
    translateError: (e) => handle.translateError(e),
    query: (fn) => translated(() => fn(handle.db)),
    transaction: (fn) => translated(() => withRetries(handle, () => handle.db.transaction().execute(fn))),
    migrate(now = Date.now) {
      return handle.withMigrationLock((db) => runMigrations(db as Kysely<unknown>, handle.dialect, migrations, now));
    },
    ...(handle.watchChanges !== undefined ? { watchChanges: handle.watchChanges.bind(handle) } : {}),
    close: () => handle.db.destroy(),
  };
}
