import { mkdir } from "node:fs/promises";
import path from "node:path";
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver } from "kysely";
import type { DatabaseConnection, Driver, SqliteDialectConfig } from "kysely";
import { ConflictError, InvalidParameterError, UnavailableError } from "../../errors.js";
import type { DialectHandle } from "../dialect.js";
import type { KeelDatabase } from "../schema.js";

/** File path of a `sqlite:` URI, MLflow style: three slashes then the path (relative or absolute). */
export function sqlitePath(uri: string): string {
  if (uri === "sqlite::memory:" || uri === "sqlite:///:memory:") return ":memory:";
  const m = /^sqlite:\/\/\/(.+)$/.exec(uri);
  if (m === null || m[1] === undefined) {
    throw new InvalidParameterError(
      `backend-store-uri ${JSON.stringify(uri)} must be sqlite:///relative/path.db or sqlite:////absolute/path.db`,
      { details: { field: "backendStoreUri", value: uri } },
    );
  }
  return m[1];
}

/**
 * SQLite through better-sqlite3 (imported on first use). WAL with synchronous=FULL: a commit is
 * fsynced to the WAL before it is acknowledged, so it survives kill -9 and power loss; readers
 * never block the writer; a second process waits up to 10 s for the write lock instead of failing.
 * LIKE is made case-sensitive as MLflow's grammar requires (ILIKE is the insensitive one).
 */
export function openSqlite(uri: string): DialectHandle {
  const file = sqlitePath(uri);
  const db = new Kysely<KeelDatabase>({
    dialect: new ImmediateSqliteDialect({
      database: async () => {
        const { default: Database } = await import("better-sqlite3");
        if (file !== ":memory:") await mkdir(path.dirname(path.resolve(file)), { recursive: true });
        const conn = new Database(file);
        conn.pragma("journal_mode = WAL");
        conn.pragma("synchronous = FULL");
        conn.pragma("busy_timeout = 10000");
        conn.pragma("foreign_keys = ON");
        conn.pragma("case_sensitive_like = ON");
        return conn;
      },
    }),
  });
  // SQLite's own write lock (waited for through busy_timeout) serialises migrating processes.
  return { db, dialect: "sqlite", translateError, retryable: isBusy, withMigrationLock: (fn) => fn(db) };
}

/**
 * Transactions begin IMMEDIATE: they take the write lock up front, waiting for it through
 * busy_timeout. A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
 * when another connection (the inference-log writer thread, another process) wrote in between,
 * because SQLite cannot upgrade its stale read snapshot to a write.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

function translateError(error: unknown): unknown {
  if (typeof error !== "object" || error === null) return error;
  const code = (error as { code?: unknown }).code;
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    return new ConflictError(`already exists (${(error as Error).message})`, { cause: error });
  }
  if (isBusy(error)) {
    return new UnavailableError(`metadata database is busy: ${(error as Error).message}`, { cause: error });
  }
  return error;
}

/**
 * Every busy or locked result, extended codes included (SQLITE_BUSY_SNAPSHOT, _RECOVERY,
 * _TIMEOUT, SQLITE_LOCKED_SHAREDCACHE …): the write lock was not had, and trying again may work.
 */
function isBusy(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}
