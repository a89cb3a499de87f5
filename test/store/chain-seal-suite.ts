import { createHmac } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { openStores, type Stores } from "../../src/open-stores.js";
import {
  checkpointChains,
  chainHash,
  parseChainKeyring,
  verifyChains,
  type ChainKeyring,
  type InferenceRecord,
} from "../../src/store/index.js";
import { steppingClock, type MakeStores, type TestStores } from "./backends.js";

const SECRET_1 = "k1-secret-that-is-at-least-32-bytes-long";
const SECRET_2 = `hex:${"ab".repeat(32)}`;
const ring1 = parseChainKeyring(JSON.stringify({ current: "k1", keys: { k1: SECRET_1 } }), "test");
const ring2 = parseChainKeyring(JSON.stringify({ current: "k2", keys: { k1: SECRET_1, k2: SECRET_2 } }), "test");
const ring2Only = parseChainKeyring(JSON.stringify({ current: "k2", keys: { k2: SECRET_2 } }), "test");

function record(i: number): InferenceRecord {
  return {
    requestId: `req-${i}`,
    time: 1_700_000_000_000 + i,
    endpoint: "loans",
    modelName: "loans",
    modelVersion: "1",
    route: "champion",
    features: { credit_score: 600 + i },
    outputs: { score: i / 100 },
    latencyMs: 1,
  };
}

interface AuditRow {
  seq: number;
  time: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
  key_id: string | null;
}

/** The sealed audit chain and its checkpoints outside the database, against every backend. */
export function runChainSealSuite(name: string, make: MakeStores): void {
  describe(`sealed chains and checkpoints on ${name}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c();
    });

    async function setup(keyring: ChainKeyring | null = ring1) {
      const t: TestStores = await make({ clock: steppingClock(), ...(keyring ? { chainKeyring: keyring } : {}) });
      const dir = mkdtempSync(path.join(tmpdir(), "keel-checkpoints-"));
      cleanup.push(async () => {
        await t.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return { t, dir, s: t.stores };
    }
    /** The same database opened again with another keyring (a rotated key, or an attacker's none). */
    function reopen(t: TestStores, keyring: ChainKeyring | undefined): Stores {
      const s = openStores({
        backendStoreUri: t.uri,
        artifactRoot: t.artifactRoot,
        clock: steppingClock(1_800_000_000_000),
        chainKeyring: keyring,
      });
      cleanup.push(() => s.close());
      return s;
    }
    const sealing = (s: Stores, dir: string, keyring: ChainKeyring | undefined = s.metadata.chainKeyring) => ({
      audit: s.audit,
      decisions: s.decisions,
      keyring,
      checkpointDir: dir,
    });
    async function mutations(s: Stores, n: number, prefix = "e") {
      for (let i = 0; i < n; i++)
        await s.tracking.createExperiment(`${prefix}${i}`, undefined, undefined, { userId: "ana" });
    }
    async function rows(s: Stores): Promise<AuditRow[]> {
      const r = await sql<AuditRow>`select * from audit_log order by seq`.execute(s.metadata.db);
      return r.rows.map((x) => ({ ...x, seq: Number(x.seq), time: Number(x.time) }));
    }
    /** What someone with database access but no key can do: rewrite a row and relink every later one. */
    async function rewriteFrom(s: Stores, seq: number, actor: string, key?: { id: string; secret: Buffer }) {
      let prev: string | undefined;
      for (const r of await rows(s)) {
        if (r.seq < seq) {
          prev = r.hash;
          continue;
        }
        const row = { ...r, actor: r.seq === seq ? actor : r.actor, prev_hash: prev ?? "0".repeat(64) };
        const fields = [
          row.seq,
          row.time,
          row.actor,
          row.action,
          row.target_type,
          row.target_id,
          row.before,
          row.after,
        ];
        const hash = chainHash(row.prev_hash, fields, key);
        await sql`update audit_log set actor = ${row.actor}, prev_hash = ${row.prev_hash}, hash = ${hash}, key_id = ${key?.id ?? null} where seq = ${r.seq}`.execute(
          s.metadata.db,
        );
        prev = hash;
      }
      await sql`update audit_head set hash = ${prev} where id = 1`.execute(s.metadata.db);
    }

    it("seals each row with HMAC-SHA256 under the current key, as an independent HMAC computes it", async () => {
      const { s } = await setup();
      await mutations(s, 3);
      const stored = await rows(s);
      expect(stored.map((r) => r.key_id)).toEqual(["k1", "k1", "k1"]);
      const r = stored[1] as AuditRow;
      const text = JSON.stringify([r.seq, r.time, r.actor, r.action, r.target_type, r.target_id, r.before, r.after]);
      const mac = createHmac("sha256", Buffer.from(SECRET_1)).update(`${r.prev_hash}\nk1\n${text}`).digest("hex");
      expect(r.hash).toBe(mac);
      expect(await s.audit.verifyAuditChain()).toEqual({ ok: true, rows: 3, checkpoints: 0 });
    });

    it("detects a row edited and every later hash recomputed without the key", async () => {
      const { s } = await setup();
      await mutations(s, 6);
      await rewriteFrom(s, 3, "mallory");
      const v = await s.audit.verifyAuditChain();
      expect(v).toMatchObject({ ok: false, brokenAt: 3, rows: 2 });
      expect(v.ok ? "" : v.reason).toContain("not sealed");
      // Keeping the key id but guessing the key does not help either.
      const { s: s2 } = await setup();
      await mutations(s2, 6);
      await rewriteFrom(s2, 4, "mallory", { id: "k1", secret: Buffer.from("a guessed key of thirty-two bytes!!") });
      expect(await s2.audit.verifyAuditChain()).toMatchObject({ ok: false, brokenAt: 4 });
    });

    it("detects a rewrite with the key itself against a checkpoint, and names the first bad row", async () => {
      const { s, dir } = await setup();
      await mutations(s, 5);
      const written = await checkpointChains(sealing(s, dir));
      expect(written.map((w) => [w.checkpoint.chain, w.checkpoint.seq])).toEqual([
        ["audit", 5],
        ["decisions", 0],
      ]);
      expect((await verifyChains(sealing(s, dir))).audit).toEqual({ ok: true, rows: 5, checkpoints: 1 });
      await rewriteFrom(s, 2, "mallory", ring1.current);
      expect(await s.audit.verifyAuditChain()).toMatchObject({ ok: true });
      const v = (await verifyChains(sealing(s, dir))).audit;
      expect(v).toMatchObject({ ok: false, brokenAt: 5 });
      expect(v.ok ? "" : v.reason).toMatch(/row 5 differs from checkpoint audit-0+5-\d+\.json/);
    });

    it("detects the newest rows deleted and the head row moved back", async () => {
      const { s, dir } = await setup();
      await mutations(s, 6);
      await checkpointChains(sealing(s, dir));
      const kept = (await rows(s))[3] as AuditRow;
      await sql`delete from audit_log where seq > 4`.execute(s.metadata.db);
      await sql`update audit_head set seq = 4, hash = ${kept.hash} where id = 1`.execute(s.metadata.db);
      expect(await s.audit.verifyAuditChain()).toMatchObject({ ok: true, rows: 4 });
      const v = (await verifyChains(sealing(s, dir))).audit;
      expect(v).toMatchObject({ ok: false, rows: 4, brokenAt: 5 });
      expect(v.ok ? "" : v.reason).toContain("recorded row 6: the newest rows were deleted");
    });

    it("refuses a forged or altered checkpoint file", async () => {
      const { s, dir } = await setup();
      await mutations(s, 2);
      await checkpointChains(sealing(s, dir));
      const file = readdirSync(dir).find((f) => f.startsWith("audit-")) as string;
      const cp = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as { seq: number };
      writeFileSync(path.join(dir, file), JSON.stringify({ ...cp, seq: 1 }));
      const v = (await verifyChains(sealing(s, dir))).audit;
      expect(v).toMatchObject({ ok: false });
      expect(v.ok ? "" : v.reason).toBe(`checkpoint ${file} was altered: its MAC does not match`);
    });

    it("after key rotation old rows and checkpoints verify with the retired key kept", async () => {
      const { t, s, dir } = await setup(ring1);
      await mutations(s, 3);
      await checkpointChains(sealing(s, dir));
      const rotated = reopen(t, ring2);
      await mutations(rotated, 2, "r");
      await checkpointChains(sealing(rotated, dir));
      expect((await rows(rotated)).map((r) => r.key_id)).toEqual(["k1", "k1", "k1", "k2", "k2"]);
      expect((await verifyChains(sealing(rotated, dir))).audit).toEqual({ ok: true, rows: 5, checkpoints: 2 });
      // Dropping the retired key makes its rows unverifiable, and the report says which key is missing.
      const v = await reopen(t, ring2Only).audit.verifyAuditChain();
      expect(v).toMatchObject({ ok: false, brokenAt: 1 });
      expect(v.ok ? "" : v.reason).toContain("audit key 'k1', which is not in the configured keyring");
    });

    it("seals decision records too, and detects deleted newest records against a checkpoint", async () => {
      const { s, dir } = await setup();
      await s.servingInferenceLog.append([1, 2, 3].map(record), { durability: "sync" });
      await s.inferenceLog.append([4, 5].map(record), { durability: "sync" });
      const keys = await sql<{ key_id: string | null }>`select key_id from inference_log order by seq`.execute(
        s.metadata.db,
      );
      expect(keys.rows.map((r) => r.key_id)).toEqual(["k1", "k1", "k1", "k1", "k1"]);
      await checkpointChains(sealing(s, dir));
      expect((await verifyChains(sealing(s, dir))).decisions).toEqual({
        ok: true,
        records: 5,
        pruned: 0,
        checkpoints: 1,
      });
      const fourth = await sql<{ hash: string }>`select hash from inference_log where seq = 4`.execute(s.metadata.db);
      await sql`delete from inference_log where seq = 5`.execute(s.metadata.db);
      await sql`update decision_head set seq = 4, hash = ${fourth.rows[0]?.hash} where id = 1`.execute(s.metadata.db);
      expect(await s.decisions.verify()).toMatchObject({ ok: true, records: 4 });
      expect((await verifyChains(sealing(s, dir))).decisions).toMatchObject({ ok: false, brokenAt: 5 });
    });

    it("does not let a forged retention gap hide deleted records", async () => {
      const { s } = await setup();
      await s.inferenceLog.append([1, 2, 3, 4, 5, 6].map(record), { durability: "sync" });
      const third = await sql<{ hash: string }>`select hash from inference_log where seq = 3`.execute(s.metadata.db);
      await sql`delete from inference_log where seq in (2, 3)`.execute(s.metadata.db);
      await sql`insert into decision_pruned (from_seq, to_seq, last_hash, time) values (2, 3, ${third.rows[0]?.hash}, 0)`.execute(
        s.metadata.db,
      );
      const v = await s.decisions.verify();
      expect(v).toMatchObject({ ok: false, brokenAt: 2 });
      expect(v.ok ? "" : v.reason).toBe(
        "records 2–3 are marked as removed by retention, but no retention in the audit log removed them",
      );
      // Retention itself still verifies: its runs are on its sealed audit row.
      const { s: t } = await setup();
      await t.inferenceLog.append([1, 2, 3, 4].map(record), { durability: "sync" });
      await t.decisions.applyRetention(1_700_000_000_003, "ops");
      expect(await t.decisions.verify()).toEqual({ ok: true, records: 2, pruned: 2, checkpoints: 0 });
    });

    it("refuses to checkpoint without a keyring, naming the setting", async () => {
      const { s, dir } = await setup(null);
      await expect(checkpointChains(sealing(s, dir))).rejects.toThrow(/KEEL_AUDIT_KEY_FILE/);
    });
  });
}
