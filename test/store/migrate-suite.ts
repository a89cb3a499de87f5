import { sql, type Kysely } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidStateError } from "../../src/errors.js";
import { openStores, type Stores } from "../../src/open-stores.js";
import { runMigrations } from "../../src/store/migrate.js";
import { migrations } from "../../src/store/migrations/index.js";
import type { FreshUri } from "./backends.js";

/** Migrations: each runs once, in order, even when several processes start together. */
export function runMigrateSuite(name: string, fresh: () => FreshUri): void {
  describe(`migrations on ${name}`, () => {
    const opened: Stores[] = [];
    let location: FreshUri | undefined;
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await location?.cleanup();
      location = undefined;
    });
    function open(): Stores {
      location ??= fresh();
      const s = openStores({ backendStoreUri: location.uri, artifactRoot: location.artifactRoot });
      opened.push(s);
      return s;
    }

    it("opening does no I/O; migrate applies every migration once, in order", async () => {
      const s = open();
      const results = await Promise.all([s.migrate(), open().migrate(), open().migrate()]);
      const ids = migrations.map((m) => m.id);
      // exactly one of the concurrent callers applied everything; the others found nothing to do
      expect(results.map((r) => r.applied.length).sort((a, b) => a - b)).toEqual([0, 0, ids.length]);
      expect(results.find((r) => r.applied.length > 0)?.applied).toEqual(ids);
      const recorded = await sql<{ id: string }>`select id from keel_migrations order by id`.execute(s.metadata.db);
      expect(recorded.rows.map((r) => r.id)).toEqual(ids);
      expect((await s.migrate()).applied).toEqual([]);
      expect((await s.tracking.getExperiment("0")).name).toBe("Default");
    });

    it("refuses a migration list out of order", async () => {
      const s = open();
      const [a, b] = migrations;
      if (a === undefined || b === undefined) throw new Error("need two migrations");
      await expect(
        runMigrations(s.metadata.db as Kysely<unknown>, s.metadata.dialect, [b, a], () => 0),
      ).rejects.toBeInstanceOf(InvalidStateError);
    });

    it("0170 resolves duplicate unresolved alerts fired before it, keeping the newest, then refuses new ones", async () => {
      const s = open();
      const db = s.metadata.db as Kysely<unknown>;
      const before = migrations.slice(
        0,
        migrations.findIndex((m) => m.id === "0170"),
      );
      if (s.metadata.dialect === "postgres") {
        // migrate() makes the test's schema first; so must a run of the earlier steps alone.
        const path = await sql<{ search_path: string }>`show search_path`.execute(db);
        const schema = (path.rows[0]?.search_path ?? "").split(",")[0]!.replace(/"/g, "").trim();
        await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
      }
      await runMigrations(db, s.metadata.dialect, before, () => 1_000);
      const row = (id: string, key: string, firedAt: number, status = "open") =>
        sql`insert into alerts (id, rule_id, tier, dedup_key, model_name, status, summary, value, threshold,
            window_start, window_end, fired_at, last_seen_at)
            values (${id}, 'r', 'notify', ${key}, 'loans', ${status}, 's', 1, 0, 0, 0, ${firedAt}, ${firedAt})`.execute(
          db,
        );
      await row("a-old", "r|loans", 10);
      await row("a-new", "r|loans", 20, "acknowledged");
      await row("b", "r|fraud", 10);
      await row("c", "r|loans", 5, "resolved");
      expect((await s.migrate()).applied).toEqual(migrations.slice(before.length).map((m) => m.id));
      const rows = await sql<{ id: string; status: string }>`select id, status from alerts order by id`.execute(db);
      expect(rows.rows.map((r) => `${r.id}:${r.status}`)).toEqual([
        "a-new:acknowledged",
        "a-old:resolved",
        "b:open",
        "c:resolved",
      ]);
      await expect(row("d", "r|fraud", 30)).rejects.toThrow();
      await row("e", "r|fraud", 30, "resolved");
    });
  });
}
