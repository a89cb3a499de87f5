import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";

describe("SQLite durability", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function tempDir(): string {
    const d = mkdtempSync(path.join(tmpdir(), "keel-durable-"));
    dirs.push(d);
    return d;
  }

  it("opens with WAL, synchronous=FULL, foreign keys and a busy timeout", async () => {
    const dir = tempDir();
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "k.db")}`,
      artifactRoot: path.join(dir, "a"),
    });
    try {
      await stores.migrate();
      const db = stores.metadata.db;
      const one = async (pragma: string) =>
        Object.values((await sql.raw(`pragma ${pragma}`).execute(db)).rows[0] as object)[0] as unknown;
      expect(await one("journal_mode")).toBe("wal");
      expect(await one("synchronous")).toBe(2); // FULL
      expect(await one("foreign_keys")).toBe(1);
      expect(await one("busy_timeout")).toBe(10_000);
    } finally {
      await stores.close();
    }
  });

  it("takes the write lock when a transaction begins, so a read-then-write never meets a stale snapshot", async () => {
    const dir = tempDir();
    const file = path.join(dir, "k.db");
    const stores = openStores({ backendStoreUri: `sqlite:///${file}`, artifactRoot: path.join(dir, "a") });
    const { default: Database } = await import("better-sqlite3");
    // Another connection, as the inference-log writer thread or a second process holds.
    const other = new Database(file);
    other.pragma("busy_timeout = 0");
    const put = (name: string) => sql`insert into keel_sequences (name, value) values (${name}, 1)`;
    try {
      await stores.migrate();
      await put("before").execute(stores.metadata.db);
      let blocked: unknown;
      await stores.metadata.transaction(async (tx) => {
        const seen = await tx.selectFrom("keel_sequences").select("name").execute();
        expect(seen.map((r) => r.name)).toContain("before");
        // With a deferred transaction this write would land, and the write below would fail with
        // SQLITE_BUSY: the transaction's read snapshot could not become a write.
        try {
          other.prepare("insert into keel_sequences (name, value) values ('other', 1)").run();
        } catch (e) {
          blocked = e;
        }
        await put("mine").execute(tx);
      });
      expect((blocked as { code?: string } | undefined)?.code).toBe("SQLITE_BUSY");
      const names = other.prepare("select name from keel_sequences where name in ('before', 'mine', 'other')").all();
      expect((names as { name: string }[]).map((r) => r.name).sort()).toEqual(["before", "mine"]);
    } finally {
      other.close();
      await stores.close();
    }
  });

  it("keeps every acknowledged log-batch after kill -9 of the writing process", async () => {
    const dir = tempDir();
    const uri = `sqlite:///${path.join(dir, "k.db")}`;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(import.meta.dirname, "fixtures", "log-burst.ts"), uri, path.join(dir, "a")],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    const acked = await new Promise<number>((resolve, reject) => {
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString("utf8");
        const count = (out.match(/^acked /gm) ?? []).length;
        if (count >= 40) {
          child.kill("SIGKILL");
          resolve(count);
        }
      });
      child.on("exit", (code, signal) => {
        if (signal !== "SIGKILL") reject(new Error(`writer exited early (code ${code}): ${out}`));
      });
    });
    await new Promise((r) => child.once("close", r));
    // Acknowledgements printed before the kill; the last line may be cut, so count whole lines.
    const lines = out.split("\n");
    const runId = /^run (\w+)$/m.exec(out)?.[1] as string;
    const lastAcked = Math.max(...lines.filter((l) => /^acked \d+$/.test(l)).map((l) => Number(l.slice(6))));
    expect(acked).toBeGreaterThanOrEqual(40);

    const stores = openStores({ backendStoreUri: uri, artifactRoot: path.join(dir, "a") });
    try {
      await stores.migrate();
      const run = await stores.tracking.getRun(runId);
      const params = new Set(run.data.params.map((p) => p.key));
      for (let n = 0; n <= lastAcked; n++) expect(params.has(`p${n}`), `batch ${n}`).toBe(true);
      const history = await stores.tracking.getMetricHistory(runId, "m0");
      expect(history.items.length).toBeGreaterThanOrEqual((lastAcked + 1) * 20);
      // a batch is atomic: every stored batch has all its 100 points
      expect(history.items.length % 20).toBe(0);
      expect(params.size * 20).toBe(history.items.length);
      expect((await stores.audit.verifyAuditChain()).ok).toBe(true);
    } finally {
      await stores.close();
    }
  });
});
