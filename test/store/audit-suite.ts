import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { KeelError } from "../../src/errors.js";
import { roleAllows } from "../../src/store/tokens.js";
import { steppingClock, type MakeStores, type TestStores } from "./backends.js";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e.code;
    throw e;
  }
  return "OK";
}

/** The audit log's hash chain and the token table, run against every backend. */
export function runAuditSuite(name: string, make: MakeStores): void {
  describe(`audit log and tokens on ${name}`, () => {
    let open: TestStores | undefined;
    afterEach(async () => {
      await open?.close();
      open = undefined;
    });
    async function stores() {
      open = await make({ clock: steppingClock() });
      return open.stores;
    }

    async function fiveMutations(s: Awaited<ReturnType<typeof stores>>) {
      const id = await s.tracking.createExperiment("e", undefined, undefined, { userId: "ana" });
      const run = await s.tracking.createRun({ experimentId: id });
      await s.tracking.logParam(run.info.runId, { key: "p", value: "1" });
      await s.registry.createModelVersion({ name: "m", source: "s" });
      await s.registry.setAlias("m", "champion", "1");
    }

    it("chains every row to the previous one and verifies the whole chain", async () => {
      const s = await stores();
      await fiveMutations(s);
      const rows = await s.audit.list();
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(rows[0]?.prevHash).toBe("0".repeat(64));
      for (let i = 1; i < rows.length; i++) expect(rows[i]?.prevHash).toBe(rows[i - 1]?.hash);
      expect(rows[0]).toMatchObject({
        actor: "ana",
        action: "experiment.create",
        targetType: "experiment",
        targetId: "1",
      });
      // times come from the injected clock, which only moves forward
      const times = rows.map((r) => r.time);
      expect(times[0]).toBeGreaterThan(1_700_000_000_000);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(await s.audit.verifyAuditChain()).toEqual({ ok: true, rows: 5, checkpoints: 0 });
      expect((await s.audit.list({ afterSeq: 3 })).map((r) => r.seq)).toEqual([4, 5]);
    });

    it("reports the first altered row", async () => {
      const s = await stores();
      await fiveMutations(s);
      await sql`update audit_log set actor = 'mallory' where seq = 3`.execute(s.metadata.db);
      const v = await s.audit.verifyAuditChain();
      expect(v).toMatchObject({ ok: false, rows: 2, brokenAt: 3 });
      expect(v.ok ? "" : v.reason).toContain("altered");
    });

    it("reports a removed row, and removed trailing rows", async () => {
      const s = await stores();
      await fiveMutations(s);
      await sql`delete from audit_log where seq = 2`.execute(s.metadata.db);
      expect(await s.audit.verifyAuditChain()).toMatchObject({ ok: false, brokenAt: 2 });
      const t = await stores();
      await fiveMutations(t);
      await sql`delete from audit_log where seq >= 4`.execute(t.metadata.db);
      const v = await t.audit.verifyAuditChain();
      expect(v).toMatchObject({ ok: false, rows: 3, brokenAt: 4 });
      expect(v.ok ? "" : v.reason).toContain("the newest rows were deleted");
    });

    it("a row rewritten with a recomputed hash still breaks the next link", async () => {
      const s = await stores();
      await fiveMutations(s);
      await sql`update audit_log set hash = ${"f".repeat(64)} where seq = 2`.execute(s.metadata.db);
      expect(await s.audit.verifyAuditChain()).toMatchObject({ ok: false, brokenAt: 2 });
    });

    it("keeps one unforked chain under concurrent writers", async () => {
      const s = await stores();
      await Promise.all(Array.from({ length: 24 }, (_, i) => s.tracking.createExperiment(`c${i}`)));
      expect(await s.audit.verifyAuditChain()).toEqual({ ok: true, rows: 24, checkpoints: 0 });
    });

    it("issues hashed bearer tokens with roles, lists, looks up and revokes them", async () => {
      const s = await stores();
      const { token, info } = await s.tokens.create({ name: "ci", role: "writer" }, { userId: "admin" });
      expect(token).toMatch(/^keel_[A-Za-z0-9_-]{43}$/);
      const stored = await sql<{ token_hash: string }>`select token_hash from auth_tokens`.execute(s.metadata.db);
      expect(stored.rows[0]?.token_hash).not.toContain(token.slice(5));
      expect(await s.tokens.lookup(token)).toEqual(info);
      expect(await s.tokens.verify(token)).toEqual({ tokenId: info.id, name: "ci", role: "writer" });
      expect(await s.tokens.lookup(`${token}x`)).toBeUndefined();
      await s.tokens.create({ name: "ops", role: "approver" });
      expect((await s.tokens.list()).map((t) => t.name)).toEqual(["ci", "ops"]);
      await s.tokens.revoke(info.id, { userId: "admin" });
      expect(await s.tokens.lookup(token)).toBeUndefined();
      expect((await s.tokens.list()).map((t) => t.name)).toEqual(["ops"]);
      expect((await s.tokens.list({ includeRevoked: true })).length).toBe(2);
      expect(await code(s.tokens.revoke(info.id))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect(await code(s.tokens.create({ name: "x", role: "root" as never }))).toBe("INVALID_PARAMETER_VALUE");
      expect((await s.audit.list()).map((r) => r.action)).toEqual(["token.create", "token.create", "token.revoke"]);
      expect(roleAllows("approver", "writer")).toBe(true);
      expect(roleAllows("writer", "approver")).toBe(false);
    });
  });
}
