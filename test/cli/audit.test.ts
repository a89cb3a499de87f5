import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { keel } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "keel-audit-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLI_TIMEOUT = 240_000;

describe("keel audit", () => {
  it(
    "checkpoints the chains with the keyring from KEEL_AUDIT_KEY_FILE and names the first bad row after deletion",
    async () => {
      const keyFile = path.join(dir, "audit-keys.json");
      writeFileSync(keyFile, JSON.stringify({ current: "2026-12", keys: { "2026-12": `hex:${"5e".repeat(32)}` } }));
      const env = { KEEL_DATA_DIR: path.join(dir, "data"), KEEL_AUDIT_KEY_FILE: keyFile };
      for (const name of ["a", "b", "c"]) expect((await keel(["experiments", "create", name], env)).code).toBe(0);
      const cp = await keel(["audit", "checkpoint"], env);
      expect(cp.code).toBe(0);
      expect(cp.stdout).toMatch(/^audit checkpoint at 3: .*audit-checkpoints\/audit-000000000003-\d+\.json$/m);
      const ok = await keel(["audit", "verify"], env);
      expect(ok.stdout).toContain("audit log intact: 3 rows verified");
      expect(ok.stdout).toContain("checkpoints matched: 1 of the audit log, 0 of the decision records");

      // Someone with the database file deletes the newest row and moves the head back.
      const db = new Database(path.join(dir, "data", "keel.db"));
      const second = db.prepare("select hash from audit_log where seq = 2").get() as { hash: string };
      db.prepare("delete from audit_log where seq = 3").run();
      db.prepare("update audit_head set seq = 2, hash = ? where id = 1").run(second.hash);
      db.close();
      const bad = await keel(["audit", "verify"], env);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(
        /audit log BROKEN at row 3: the chain ends at row 2 but checkpoint audit-0+3-\d+\.json recorded row 3/,
      );

      const noKey = await keel(["audit", "checkpoint"], { KEEL_DATA_DIR: env.KEEL_DATA_DIR });
      expect(noKey.code).toBe(2);
      expect(noKey.stderr.trim()).toContain("no audit keyring is configured");
    },
    CLI_TIMEOUT,
  );
});
