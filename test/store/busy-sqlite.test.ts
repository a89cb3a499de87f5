import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { UnavailableError } from "../../src/errors.js";
import { openMetadataDb, type MetadataDb } from "../../src/store/metadata-db.js";

/** What better-sqlite3 throws: an Error with SQLite's extended result code as `code`. */
function sqliteError(code: string): Error {
  return Object.assign(new Error(`database is locked (${code})`), { code });
}

describe("a busy SQLite metadata database", () => {
  let dir: string;
  let meta: MetadataDb | undefined;
  afterEach(async () => {
    await meta?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  async function open(): Promise<MetadataDb> {
    dir = mkdtempSync(path.join(tmpdir(), "keel-busy-"));
    meta = openMetadataDb(`sqlite:///${path.join(dir, "keel.db")}`);
    await meta.migrate();
    return meta;
  }

  it("maps every busy and locked result code, extended ones included, to a 503", async () => {
    const m = await open();
    for (const code of [
      "SQLITE_BUSY",
      "SQLITE_BUSY_SNAPSHOT",
      "SQLITE_BUSY_RECOVERY",
      "SQLITE_BUSY_TIMEOUT",
      "SQLITE_LOCKED",
      "SQLITE_LOCKED_SHAREDCACHE",
    ]) {
      const e = m.translateError(sqliteError(code));
      expect(e, code).toBeInstanceOf(UnavailableError);
      expect((e as UnavailableError).status).toBe(503);
    }
    expect(m.translateError(sqliteError("SQLITE_CORRUPT"))).not.toBeInstanceOf(UnavailableError);
  });

  it("maps the SQLITE_BUSY_SNAPSHOT a stale read snapshot really raises", async () => {
    const m = await open();
    const file = path.join(dir, "keel.db");
    const a = new Database(file);
    const b = new Database(file);
    try {
      // a reads in a deferred transaction, b writes meanwhile: a's snapshot can no longer write.
      a.exec("begin");
      a.prepare("select seq from audit_head").get();
      b.prepare("update audit_head set seq = seq + 1 where id = 1").run();
      let raised: unknown;
      try {
        a.prepare("update audit_head set seq = seq + 1 where id = 1").run();
      } catch (e) {
        raised = e;
      }
      a.exec("rollback");
      expect((raised as { code?: string }).code).toBe("SQLITE_BUSY_SNAPSHOT");
      expect(m.translateError(raised)).toBeInstanceOf(UnavailableError);
    } finally {
      a.close();
      b.close();
    }
  });

  it("runs a transaction that lost the lock race again, and gives up with a 503", async () => {
    const m = await open();
    let attempts = 0;
    const value = await m.transaction(async (tx) => {
      attempts++;
      await tx.selectFrom("audit_head").select("seq").execute();
      if (attempts < 3) throw sqliteError("SQLITE_BUSY_SNAPSHOT");
      return "done";
    });
    expect({ value, attempts }).toEqual({ value: "done", attempts: 3 });

    let tries = 0;
    const failed = m.transaction(() => {
      tries++;
      return Promise.reject(sqliteError("SQLITE_BUSY_SNAPSHOT"));
    });
    await expect(failed).rejects.toBeInstanceOf(UnavailableError);
    expect(tries).toBe(5);

    // Other errors are not retried.
    let once = 0;
    await expect(
      m.transaction(() => {
        once++;
        return Promise.reject(sqliteError("SQLITE_CONSTRAINT_CHECK"));
      }),
    ).rejects.toThrow("SQLITE_CONSTRAINT_CHECK");
    expect(once).toBe(1);
  });
});
