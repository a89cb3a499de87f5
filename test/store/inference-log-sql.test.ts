import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CompiledQuery, sql } from "kysely";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { FeatureValues, InferenceRecord, WriteRetryEvent } from "../../src/store/inference-log.js";
import { SqlInferenceLog, type InferenceLogWriter } from "../../src/store/inference-log-sql.js";
import { SqliteInferenceLogWriter } from "../../src/store/sqlite/inference-log-writer.js";
import { openMetadataDb, type MetadataDb } from "../../src/store/metadata-db.js";
import { pgSchemaUri, TEST_PG_URL } from "../services.js";
import { withOverrides, type Overrides } from "../overrides.js";
import { until } from "../until.js";

function record(i: number, over: Overrides<InferenceRecord> = {}): InferenceRecord {
  return withOverrides(
    {
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
    },
    over,
  );
}

function suite(
  name: string,
  open: () => Promise<{ meta: MetadataDb; done: () => Promise<void> }>,
  writer?: () => InferenceLogWriter,
) {
  describe(`SqlInferenceLog on ${name}`, () => {
    it("appends in batches, survives reopen, and answers monitoring's queries", async () => {
      const { meta, done } = await open();
      try {
        const log = new SqlInferenceLog(meta, {
          batchSize: 100,
          flushIntervalMs: 10_000,
          ...(writer ? { writer: writer() } : {}),
        });
        const all = Array.from({ length: 1000 }, (_, i) => record(i));
        for (let i = 0; i < all.length; i += 7) await log.append(all.slice(i, i + 7));
        // a sync append is committed before it resolves: a second reader sees it at once
        await log.append([record(5000, { route: "shadow", entityId: undefined })], { durability: "sync" });
        const fresh = new SqlInferenceLog(meta);
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

    it("holds an async batch whose write fails and writes it, in order, once writes succeed; a sync append fails at once", async () => {
      const { meta, done } = await open();
      try {
        const log = new SqlInferenceLog(meta, {
          flushIntervalMs: 5,
          retryDelayMs: 20,
          ...(writer ? { writer: writer() } : {}),
        });
        const events: WriteRetryEvent[] = [];
        const held: Promise<void>[] = [];
        log.onWriteRetry((e) => {
          events.push(e);
          // Appended while the first batch is held: it waits behind it, unattempted until the retry.
          if (events.length === 1) held.push(log.append([record(3), record(4)], { awaitCommit: true }));
        });
        await log.append([record(1)], { awaitCommit: true });
        expect(await new SqlInferenceLog(meta).query({})).toEqual([record(1)]);
        await sql`alter table inference_log rename to inference_log_away`.execute(meta.db);
        let settled = 0;
        held.push(log.append([record(2)], { awaitCommit: true }));
        await until("three failed attempts", () => events.length >= 3);
        for (const h of held)
          void h.then(
            () => settled++,
            () => settled++,
          );
        // An audit record is never held: its caller is told at once.
        await expect(log.append([record(9)], { durability: "sync" })).rejects.toThrow(/inference_log/);
        expect(settled).toBe(0);
        expect(events.slice(0, 3).map((e) => e.kind === "held" && [e.retryInMs, e.heldRecords])).toEqual([
          [20, 1],
          [40, 3],
          [80, 3],
        ]);
        expect(String((events[0] as { error: Error }).error.message)).toMatch(/inference_log/);
        await sql`alter table inference_log_away rename to inference_log`.execute(meta.db);
        await Promise.all(held);
        expect(events.at(-1)).toEqual({ kind: "resumed", written: 3 });
        const order = await sql<{ request_id: string }>`select request_id from inference_log order by seq`.execute(
          meta.db,
        );
        expect(order.rows.map((r) => r.request_id)).toEqual(["req-00001", "req-00002", "req-00003", "req-00004"]);
        await log.close();
      } finally {
        await done();
      }
    });

    it("drops the oldest held batches past its retry limit, and what is still held when it closes", async () => {
      const { meta, done } = await open();
      try {
        const log = new SqlInferenceLog(meta, {
          batchSize: 2,
          retryDelayMs: 60_000,
          retryLimit: 4,
          ...(writer ? { writer: writer() } : {}),
        });
        await sql`alter table inference_log rename to inference_log_away`.execute(meta.db);
        // Five batches of two: past four held records the oldest batch goes.
        const appends = [0, 1, 2, 3, 4].map((b) =>
          log.append([record(2 * b), record(2 * b + 1)], { awaitCommit: true }),
        );
        const early = await Promise.allSettled(appends.slice(0, 3));
        for (const r of early) {
          expect(r.status).toBe("rejected");
          expect(String((r as PromiseRejectedResult).reason)).toContain(
            "2 records dropped unwritten (more than the retry limit of 4 records held)",
          );
        }
        const late = Promise.allSettled(appends.slice(3));
        await log.close();
        expect((await late).map((r) => r.status === "rejected" && String(r.reason))).toEqual([
          "UnavailableError: inference log: 2 records dropped unwritten (the log closed while its writes failed)",
          "UnavailableError: inference log: 2 records dropped unwritten (the log closed while its writes failed)",
        ]);
        await sql`alter table inference_log_away rename to inference_log`.execute(meta.db);
        expect(await new SqlInferenceLog(meta).query({})).toEqual([]);
      } finally {
        await done();
      }
    });

    it("reads back every string and number exactly as appended, in batches of any length", async () => {
      const { meta, done } = await open();
      try {
        const log = new SqlInferenceLog(meta, { flushIntervalMs: 10_000, ...(writer ? { writer: writer() } : {}) });
        const odd = ["", 'quote " and \\ backslash', "line\nbreak\ttab", "ünïcødé €", "emoji 🦊 pair"];
        // 37 rows in one batch: every kind of cell the worker writer cuts back out of one text.
        const rows = Array.from({ length: 37 }, (_, i) =>
          record(i, {
            requestId: `${odd[i % odd.length] as string}#${i}`,
            endpoint: odd[(i + 1) % odd.length] as string,
            entityId: i % 4 === 0 ? undefined : (odd[(i + 2) % odd.length] as string),
            features: {
              [odd[(i + 3) % odd.length] as string]: odd[i % odd.length] as string,
              tiny: 5e-324,
              big: 1.7e308,
            },
            outputs: { score: [0, 1 / 3, -2.5e-17, 0.1 + 0.2][i % 4] as number, decision: "approve" },
            latencyMs: [0, 1 / 7, 123456.789][i % 3] as number,
          }),
        );
        await log.append(rows);
        await log.flush();
        const back = await new SqlInferenceLog(meta).query({});
        const key = (r: InferenceRecord) => `${r.time} ${r.requestId}`;
        expect([...back].sort((a, b) => (key(a) < key(b) ? -1 : 1))).toEqual(
          [...rows].sort((a, b) => (key(a) < key(b) ? -1 : 1)),
        );
        await log.close();
      } finally {
        await done();
      }
    });

    it("finds rows by entity through the entity index, which leaves out rows without one", async () => {
      const { meta, done } = await open();
      try {
        const db = meta.db;
        // The log's lookup and the label store's first-prediction query.
        const byEntity = db.selectFrom("inference_log").selectAll().where("entity_id", "=", "A7").compile();
        const firstSeen = db
          .selectFrom("inference_log")
          .select((eb) => ["entity_id", eb.fn.min("time").as("first_time")])
          .where("entity_id", "in", ["A1", "A2"])
          .groupBy("entity_id")
          .compile();
        for (const q of [byEntity, firstSeen]) expect(await plan(meta, q)).toContain("inference_log_entity");
        const indexes = await sql<{ text: string }>`${sql.raw(
          meta.dialect === "sqlite"
            ? "select sql as text from sqlite_master where name = 'inference_log_entity'"
            : "select indexdef as text from pg_indexes where indexname = 'inference_log_entity' and schemaname = current_schema()",
        )}`.execute(db);
        expect(indexes.rows.map((r) => r.text.replace(/[\s"()]/g, "").toLowerCase())).toEqual([
          expect.stringMatching(/whereentity_idisnotnull$/),
        ]);
      } finally {
        await done();
      }
    });

    it("stores shadow answers in their request's row and reads each back as a shadow record", async () => {
      const { meta, done } = await open();
      try {
        const log = new SqlInferenceLog(meta, { flushIntervalMs: 10_000, ...(writer ? { writer: writer() } : {}) });
        const shadow = (i: number, version: string, model = "loans") => ({
          modelName: model,
          modelVersion: version,
          outputs: { score: i / 100, decision: "decline" },
          latencyMs: 0.5,
        });
        // Rows 0..9: champion v1; even rows carry shadow v3, rows divisible by 3 also "loans_alt" v3.
        const rows = Array.from({ length: 10 }, (_, i) =>
          record(i, {
            modelVersion: "1",
            route: "champion",
            shadows: [...(i % 2 === 0 ? [shadow(i, "3")] : []), ...(i % 3 === 0 ? [shadow(i, "3", "loans_alt")] : [])],
          }),
        );
        await log.append(rows);
        // A standalone shadow row (as `audit: "sync"` endpoints write them) reads the same way.
        await log.append([
          record(20, { modelVersion: "3", route: "shadow", outputs: { score: 0.2, decision: "decline" } }),
        ]);
        await log.flush();
        const fresh = new SqlInferenceLog(meta);

        const expected = (i: number, version: string, model = "loans"): InferenceRecord => {
          const { shadows: _s, ...primary } = record(i, { modelVersion: version, route: "shadow" });
          return { ...primary, modelName: model, outputs: shadow(i, version, model).outputs, latencyMs: 0.5 };
        };
        const v3 = await fresh.query({ modelName: "loans", modelVersion: "3" });
        expect(v3).toEqual(
          [0, 2, 4, 6, 8]
            .map((i) => expected(i, "3"))
            .concat([record(20, { modelVersion: "3", route: "shadow", outputs: { score: 0.2, decision: "decline" } })]),
        );
        expect((await fresh.query({ modelName: "loans_alt" })).map((r) => r.requestId)).toEqual(
          [0, 3, 6, 9].map((i) => record(i).requestId),
        );
        // "loans_alt" is not a match for model "loans" (exact, not a prefix or a LIKE pattern).
        expect((await fresh.query({ modelName: "loans", route: "shadow" })).length).toBe(6);
        expect((await fresh.query({ modelName: "LOANS" })).length).toBe(0);

        // Primary records come back without the stored `shadows`; the row's shadows follow it.
        const all = await fresh.query({});
        expect(all.length).toBe(10 + 5 + 4 + 1);
        expect(all[0]).toEqual(record(0, { modelVersion: "1", route: "champion" }));
        expect(all.slice(0, 3).map((r) => [r.route, r.modelName])).toEqual([
          ["champion", "loans"],
          ["shadow", "loans"],
          ["shadow", "loans_alt"],
        ]);
        expect(all.every((r) => !("shadows" in r))).toBe(true);
        // Champion queries see only the champion; limits count records, not rows.
        expect((await fresh.query({ modelVersion: "1" })).length).toBe(10);
        expect((await fresh.query({ limit: 4 })).map((r) => r.route)).toEqual([
          "champion",
          "shadow",
          "shadow",
          "champion",
        ]);
        expect((await fresh.query({ requestIds: [record(6).requestId] })).map((r) => r.modelName)).toEqual([
          "loans",
          "loans",
          "loans_alt",
        ]);
        await log.close();
      } finally {
        await done();
      }
    });
  });
}

const dir = mkdtempSync(path.join(tmpdir(), "keel-inflog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Through the metadata database and its migrations (0010 creates the table), as keel opens it.
async function openMigrated(uri: string): Promise<{ meta: MetadataDb; done: () => Promise<void> }> {
  const meta = openMetadataDb(uri);
  await meta.migrate();
  return { meta, done: () => meta.close() };
}

// A fresh database file per test; the worker-thread writer opens the file its test's `open` made.
let files = 0;
let file = "";
function openSqliteFile() {
  file = path.join(dir, `log-${++files}.db`);
  return openMigrated(`sqlite:///${file}`);
}

suite("SQLite", openSqliteFile);

suite("SQLite with the worker-thread writer", openSqliteFile, () => new SqliteInferenceLogWriter(file));

suite("PostgreSQL", async () => {
  const schema = `inflog_${process.pid}_${Date.now()}`;
  const opened = await openMigrated(pgSchemaUri(schema));
  return {
    meta: opened.meta,
    done: async () => {
      await opened.done();
      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
});

/** The query plan of `q`, as text; on PostgreSQL with sequential scans off, so a usable index shows on a small table. */
async function plan(meta: MetadataDb, q: CompiledQuery): Promise<string> {
  if (meta.dialect === "sqlite") {
    const r = await meta.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]),
    );
    return r.rows.map((x) => x.detail).join("\n");
  }
  return meta.db.connection().execute(async (c) => {
    await sql`set enable_seqscan = off`.execute(c);
    try {
      const r = await c.executeQuery<{ "QUERY PLAN": string }>(
        CompiledQuery.raw(`explain ${q.sql}`, [...q.parameters]),
      );
      return r.rows.map((x) => x["QUERY PLAN"]).join("\n");
    } finally {
      await sql`reset enable_seqscan`.execute(c);
    }
  });
}

describe("the worker-thread writer's rows", () => {
  it("are byte for byte the metadata writer's, chain hashes included, for every kind of value", async () => {
    const edge = JSON.parse('{"__proto__": 1, "z": 2}') as FeatureValues;
    const kinds: Overrides<InferenceRecord>[] = [
      { features: { "10": 1, "2": "x", b: true, c: false, d: null, nan: NaN, neg: -0, inf: Infinity } },
      { features: edge, outputs: { score: 1 / 3, decision: "decline", fallback: "deadline" } },
      // Nested values, and values JSON.stringify writes its own way (a Date, a function, a hole).
      { features: { nested: { a: [1, "b", undefined, { c: null }] }, after: 1 } as unknown as FeatureValues },
      { features: { kept: 1, dropped: undefined } as unknown as FeatureValues, entityId: undefined },
      {
        caller: "svc",
        artifactSha256: "ab".repeat(32),
        threshold: 0.25,
        scored: { credit_score: 610, purpose: null },
        reasons: [{ feature: "credit_score", value: 610, contribution: -0.5 }],
        shadows: [
          { modelName: "loans", modelVersion: "3", outputs: { score: 0.5, decision: "approve" }, latencyMs: 2 },
        ],
      },
      { features: {}, outputs: { refused: 'credit_score = "x": not a number' } },
      { features: { at: new Date(0), f: 1 } as unknown as FeatureValues },
      { features: { skip: () => 1, kept: [() => 1] } as unknown as FeatureValues },
    ];
    // 40 records: the writer inserts whole chunks of rows with one statement and the rest one by one.
    const records = Array.from({ length: 40 }, (_, i) => record(i, kinds[i % kinds.length]));
    const stored = async (writer: (() => InferenceLogWriter) | undefined) => {
      const meta = (await openSqliteFile()).meta;
      const log = new SqlInferenceLog(meta, writer === undefined ? {} : { writer: writer() });
      await log.append(records);
      await log.flush();
      await log.close();
      const rows = await meta.db.selectFrom("inference_log").selectAll().orderBy("seq").execute();
      await meta.close();
      return rows;
    };
    const viaMain = await stored(undefined);
    const viaWorker = await stored(() => new SqliteInferenceLogWriter(file));
    expect(viaWorker).toEqual(viaMain);
    // Independently of either writer: each JSON column is JSON.stringify's text of the record's value.
    expect(viaWorker.map((r) => r.features)).toEqual(records.map((r) => JSON.stringify(r.features)));
    expect(viaWorker.map((r) => r.outputs)).toEqual(records.map((r) => JSON.stringify(r.outputs)));
    expect(viaWorker.map((r) => r.scored)).toEqual(
      records.map((r) => (r.scored === undefined ? null : JSON.stringify(r.scored))),
    );
    expect(viaWorker.map((r) => r.reasons)).toEqual(
      records.map((r) => (r.reasons === undefined ? null : JSON.stringify(r.reasons))),
    );
    expect(viaWorker[36]?.shadows).toBe(
      '[{"model":"loans","version":"3","outputs":{"score":0.5,"decision":"approve"},"latency_ms":2}]',
    );
    expect(viaWorker[33]?.features).toBe('{"__proto__":1,"z":2}');
    expect(viaWorker.map((r) => Number(r.seq))).toEqual(records.map((_, i) => i + 1));
  });

  it("leaves its batch as it was when a record holds a value JSON cannot hold", async () => {
    const { meta } = await openSqliteFile();
    const log = new SqlInferenceLog(meta, { writer: new SqliteInferenceLogWriter(file) });
    const bad = record(1, { features: { big: 1n } as unknown as FeatureValues });
    expect(() => log.append([bad])).toThrow(/BigInt/);
    await log.append([record(2)]);
    await log.flush();
    expect(await log.query({})).toEqual([record(2)]);
    await log.close();
    await meta.close();
  });
});
