import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Kysely } from "kysely";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { InferenceRecord } from "../../src/store/inference-log.js";
import { SqlInferenceLog, type InferenceLogWriter } from "../../src/store/inference-log-sql.js";
import { SqliteInferenceLogWriter } from "../../src/store/sqlite/inference-log-writer.js";
import { openMetadataDb } from "../../src/store/metadata-db.js";

function record(i: number, over: Partial<InferenceRecord> = {}): InferenceRecord {
  return {
    requestId: `req-${String(i).padStart(5, "0")}`,
    time: 1_700_000_000_000 + i,
    endpoint: "loans",
    modelName: "loans",
    modelVersion: i % 2 === 0 ? "1" : "2",
    route: i % 2 === 0 ? "champion" : "challenger",
    entityId: `A${i}`,
    features: { credit_score: 600 + i, purpose: "car", employment_years: null },
    outputs: { score: i / 1000, decision: "approve" },
    latencyMs: 1.25,
    ...over,
  };
}

function suite(
  name: string,
  open: () => Promise<{ db: Kysely<unknown>; done: () => Promise<void> }>,
  writer?: () => InferenceLogWriter,
) {
  describe(`SqlInferenceLog on ${name}`, () => {
    it("appends in batches, survives reopen, and answers monitoring's queries", async () => {
      const { db, done } = await open();
      try {
        const log = new SqlInferenceLog(db, {
          batchSize: 100,
          flushIntervalMs: 10_000,
          ...(writer ? { writer: writer() } : {}),
        });
        const all = Array.from({ length: 1000 }, (_, i) => record(i));
        for (let i = 0; i < all.length; i += 7) await log.append(all.slice(i, i + 7));
        // a sync append is committed before it resolves: a second reader sees it at once
        await log.append([record(5000, { route: "shadow", entityId: undefined })], { durability: "sync" });
        const fresh = new SqlInferenceLog(db);
        const shadow = await fresh.query({ route: "shadow" });
        expect(shadow).toEqual([record(5000, { route: "shadow", entityId: undefined })]);
        expect(shadow[0]?.entityId).toBeUndefined();

        expect((await fresh.query({})).length).toBe(1001);
        const v2 = await fresh.query({ modelVersion: "2", from: 1_700_000_000_100, to: 1_700_000_000_200 });
        expect(v2.length).toBe(50);
        expect(v2[0]).toEqual(record(101));
        expect(await fresh.query({ entityId: "A7" })).toEqual([record(7)]);
        expect((await fresh.query({ requestIds: ["req-00003", "req-00004"] })).map((r) => r.requestId)).toEqual([
          "req-00003",
          "req-00004",
        ]);
        expect((await fresh.query({ endpoint: "loans", limit: 3 })).length).toBe(3);
        await log.close();
        await expect(log.append([record(1)])).rejects.toThrow("append after close");
      } finally {
        await done();
      }
    });
  });
}

const dir = mkdtempSync(path.join(tmpdir(), "keel-inflog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Through the metadata database and its migrations (0010 creates the table), as keel opens it.
async function openMigrated(uri: string): Promise<{ db: Kysely<unknown>; done: () => Promise<void> }> {
  const meta = openMetadataDb(uri);
  await meta.migrate();
  return { db: meta.db as Kysely<unknown>, done: () => meta.close() };
}

suite("SQLite", () => openMigrated(`sqlite:///${path.join(dir, "log.db")}`));

suite(
  "SQLite with the worker-thread writer",
  () => openMigrated(`sqlite:///${path.join(dir, "log-worker.db")}`),
  () => new SqliteInferenceLogWriter(path.join(dir, "log-worker.db")),
);

suite("PostgreSQL", async () => {
  const schema = `inflog_${process.pid}_${Date.now()}`;
  const opened = await openMigrated(`postgresql://postgres@127.0.0.1:5432/test?schema=${schema}`);
  return {
    db: opened.db,
    done: async () => {
      await opened.done();
      const admin = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
      await admin.connect();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
});
