import { Kysely, PostgresDialect, sql } from "kysely";
import type { Client } from "pg";
import { ConflictError, InvalidParameterError, UnavailableError } from "../../errors.js";
import type { ChangeWatch, DialectHandle } from "../dialect.js";
import type { KeelDatabase } from "../schema.js";

const INT8_OID = 20;
/** Advisory-lock key ("keel") held while migrating, so concurrent starters take turns. */
const MIGRATION_LOCK = 0x6b65656c;
/** The channel migration 0150's triggers notify; the payload is `<schema>.<table>`. */
const CHANGE_CHANNEL = "keel_changes";
/** Longest wait for a new connection before the query fails as unavailable. */
const CONNECT_TIMEOUT_MS = 5000;
/** Driver errors of a lost or unreachable database (node's socket codes; PostgreSQL's class 08 and shutdowns). */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "57P01",
  "57P02",
  "57P03",
  "53300",
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;
/** Wait before listening again after the connection was lost. */
const RELISTEN_MS = 1000;

/**
 * PostgreSQL through a pg Pool (imported on first use). int8 columns are parsed as JS numbers
 * (epoch milliseconds and ids fit in 2^53). `?schema=name` in the URL selects a schema (created
 * by `migrate()` if missing) through the connection's search_path. Migrations hold an advisory
 * lock, so several processes starting at once migrate one after another.
 */
export function openPostgres(uri: string): DialectHandle {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (cause) {
    throw new InvalidParameterError(`backend-store-uri ${JSON.stringify(uri)} is not a valid postgresql:// URL`, {
      cause,
      details: { field: "backendStoreUri", value: uri },
    });
  }
  const schema = url.searchParams.get("schema");
  if (schema !== null && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new InvalidParameterError(
      `backend-store-uri: schema ${JSON.stringify(schema)} must be lower-case letters, digits and underscores`,
      { details: { field: "schema", value: schema } },
    );
  }
  url.searchParams.delete("schema");
  const connectionString = url.toString();
  const db = new Kysely<KeelDatabase>({
    dialect: new PostgresDialect({
      pool: async () => {
        const { default: pg } = await import("pg");
        const pool = new pg.Pool({
          connectionString,
          max: 10,
          // Unreachable database: a request fails in seconds with 503, not after the OS's TCP timeout.
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
          ...(schema !== null ? { options: `-c search_path=${schema}` } : {}),
          types: {
            getTypeParser: ((oid: number, format?: "text" | "binary"): ((v: string) => unknown) =>
              oid === INT8_OID
                ? (v: string) => Number(v)
                : (pg.types.getTypeParser(oid, format ?? "text") as (
                    v: string,
                  ) => unknown)) as typeof pg.types.getTypeParser,
          },
        });
        // A connection dropped by the server or the network: the pool discards it and the next
        // query opens a new one. The error reaches the query in flight, if any; without these
        // listeners a drop between two queries of a transaction would end the process.
        pool.on("error", () => undefined);
        pool.on("connect", (client) => client.on("error", () => undefined));
        return pool;
      },
    }),
  });
  return {
    db,
    dialect: "postgres",
    translateError,
    // Serialization failures and deadlocks: the transaction was rolled back and may be run again.
    retryable: (e: unknown) => {
      const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
      return code === "40001" || code === "40P01";
    },
    withMigrationLock(fn) {
      return db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
        try {
          if (schema !== null) await sql`create schema if not exists ${sql.id(schema)}`.execute(conn);
          return await fn(conn);
        } finally {
          await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
        }
      });
    },
    watchChanges: (onChange, onError) => listenForChanges(connectionString, schema ?? "public", onChange, onError),
  };
}

/**
 * LISTEN on its own connection (a pooled one would be handed to queries); notifications of other
 * schemas are ignored. A lost connection is retried every second until `stop()`.
 */
function listenForChanges(
  connectionString: string,
  schema: string,
  onChange: (table: string) => void,
  onError: (error: unknown) => void,
): ChangeWatch {
  let stopped = false;
  let client: Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const prefix = `${schema}.`;
  const connect = async (reconnect: boolean): Promise<void> => {
    const { default: pg } = await import("pg");
    const c = new pg.Client({ connectionString });
    const lost = (e: unknown) => {
      if (client !== c) return;
      client = undefined;
      c.removeAllListeners("notification");
      void c.end().catch(() => undefined);
      if (stopped) return;
      onError(e);
      retry = setTimeout(() => void connect(true), RELISTEN_MS);
      retry.unref();
    };
    c.on("error", lost);
    c.on("end", () => lost(new Error("change notification connection closed")));
    c.on("notification", (n) => {
      if (n.channel === CHANGE_CHANNEL && n.payload?.startsWith(prefix) === true)
        onChange(n.payload.slice(prefix.length));
    });
    client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGE_CHANNEL}`);
      if (stopped) await c.end();
      else if (reconnect) onChange("*");
    } catch (e) {
      lost(e);
    }
  };
  const ready = connect(false);
  return {
    ready,
    async stop() {
      stopped = true;
      if (retry !== undefined) clearTimeout(retry);
      await ready;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}

function translateError(error: unknown): unknown {
  if (typeof error !== "object" || error === null) return error;
  const code = (error as { code?: unknown }).code;
  if (code === "23505") {
    return new ConflictError(`already exists (${(error as Error).message})`, { cause: error });
  }
  if (
    (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) ||
    (error instanceof Error && UNAVAILABLE_MESSAGES.test(error.message))
  ) {
    return new UnavailableError(`metadata database unavailable: ${(error as Error).message}`, { cause: error });
  }
  return error;
}
