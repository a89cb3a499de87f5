import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { FeatureValue, OnlineRow, OnlineStore, StoredOnlineRow } from "./online-store.js";

const SCHEMA = `CREATE TABLE IF NOT EXISTS online_features (
  feature_view TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  event_time INTEGER NOT NULL,
  feature_values TEXT NOT NULL,
  PRIMARY KEY (feature_view, entity_key)
) WITHOUT ROWID`;

/** Replaces the stored row unless it is newer: repeated writes are no-ops. */
const UPSERT = `INSERT INTO online_features (feature_view, entity_key, event_time, feature_values) VALUES (?, ?, ?, ?)
  ON CONFLICT (feature_view, entity_key) DO UPDATE SET event_time = excluded.event_time, feature_values = excluded.feature_values
  WHERE excluded.event_time >= online_features.event_time`;

function open(file: string): Database.Database {
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);
  return db;
}

/**
 * The embedded online store: one SQLite file (WAL). Reads use their own connection, so a
 * materialization in progress on the write connection stays invisible until it commits.
 */
export function createSqliteOnlineStore(file: string): OnlineStore {
  const writer = open(file);
  const reader = file === ":memory:" ? writer : open(file);
  const upsert = writer.prepare(UPSERT);
  const select = reader.prepare<[string, string], { event_time: number; feature_values: string }>(
    "SELECT event_time, feature_values FROM online_features WHERE feature_view = ? AND entity_key = ?",
  );
  let writing: Promise<unknown> = Promise.resolve();

  async function writeAll(view: string, batches: AsyncIterable<readonly OnlineRow[]> | Iterable<readonly OnlineRow[]>) {
    let n = 0;
    writer.exec("BEGIN IMMEDIATE");
    try {
      for await (const batch of batches) {
        for (const r of batch) upsert.run(view, r.entityKey, r.eventTime, JSON.stringify(r.values));
        n += batch.length;
      }
      writer.exec("COMMIT");
    } catch (e) {
      writer.exec("ROLLBACK");
      throw e;
    }
    return n;
  }

  return {
    write(view, batches) {
      // One transaction at a time on the write connection.
      const next = writing.then(() => writeAll(view, batches));
      writing = next.catch(() => undefined);
      return next;
    },
    read(view, keys) {
      return Promise.resolve(
        keys.map((k): StoredOnlineRow | undefined => {
          const row = select.get(view, k);
          return row === undefined
            ? undefined
            : { eventTime: row.event_time, values: JSON.parse(row.feature_values) as Record<string, FeatureValue> };
        }),
      );
    },
    async close() {
      await writing;
      if (reader !== writer) reader.close();
      writer.close();
    },
  };
}
