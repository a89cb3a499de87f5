import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { openStores, type OpenStoresOptions, type Stores } from "../../src/open-stores.js";
import { pgSchemaUri, TEST_PG_URL } from "../services.js";

/** A freshly migrated, empty set of stores on one backend; `close()` removes everything. */
export interface TestStores {
  readonly stores: Stores;
  readonly uri: string;
  readonly artifactRoot: string;
  close(): Promise<void>;
}

export type MakeStores = (options?: Partial<OpenStoresOptions>) => Promise<TestStores>;

/** SQLite in a temporary directory (a real file, WAL mode, as in production). */
export const sqliteStores: MakeStores = async (options = {}) => {
  const dir = mkdtempSync(path.join(tmpdir(), "keel-store-"));
  const uri = `sqlite:///${path.join(dir, "keel.db")}`;
  const artifactRoot = path.join(dir, "artifacts");
  const stores = openStores({ backendStoreUri: uri, artifactRoot, ...options });
  await stores.migrate();
  return {
    stores,
    uri,
    artifactRoot,
    async close() {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/**
 * The machine's PostgreSQL, in a schema of its own (test files run in parallel processes), dropped
 * on close.
 */
export const postgresStores: MakeStores = async (options = {}) => {
  const schema = `keel_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const dir = mkdtempSync(path.join(tmpdir(), "keel-store-"));
  const uri = pgSchemaUri(schema);
  const artifactRoot = path.join(dir, "artifacts");
  const stores = openStores({ backendStoreUri: uri, artifactRoot, ...options });
  await stores.migrate();
  return {
    stores,
    uri,
    artifactRoot,
    async close() {
      await stores.close();
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** A clock that moves 1 ms per call from a fixed start, so times are distinct and known. */
export function steppingClock(start = 1_700_000_000_000): () => number {
  let t = start;
  return () => t++;
}

/** An empty database location (not migrated) for migration tests, and how to remove it. */
export interface FreshUri {
  readonly uri: string;
  readonly artifactRoot: string;
  cleanup(): Promise<void>;
}

export function freshSqliteUri(): FreshUri {
  const dir = mkdtempSync(path.join(tmpdir(), "keel-store-"));
  return {
    uri: `sqlite:///${path.join(dir, "keel.db")}`,
    artifactRoot: path.join(dir, "artifacts"),
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  };
}

export function freshPostgresUri(): FreshUri {
  const schema = `keel_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const dir = mkdtempSync(path.join(tmpdir(), "keel-store-"));
  return {
    uri: pgSchemaUri(schema),
    artifactRoot: path.join(dir, "artifacts"),
    async cleanup() {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
