import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import type { InferenceRecord } from "../../src/store/index.js";
import { rejected } from "../keel-error.js";
import { withOverrides, type Overrides } from "../overrides.js";
import { steppingClock, type MakeStores, type TestStores } from "./backends.js";

const T0 = 1_700_000_000_000;

async function expectKeelError(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const e = await rejected(p);
  expect(e.code).toBe(code);
  if (message !== undefined) expect(e.message).toMatch(message);
}

function record(i: number, over: Overrides<InferenceRecord> = {}): InferenceRecord {
  return withOverrides(
    {
      requestId: `req-${String(i).padStart(4, "0")}`,
      time: T0 + i * 1000,
      endpoint: i % 3 === 0 ? "loans-eu" : "loans",
      modelName: "loans",
      modelVersion: i % 2 === 0 ? "1" : "2",
      route: i % 2 === 0 ? "champion" : "challenger",
      features: { credit_score: 600 + i, purpose: "car", income: "52000" },
      outputs: { score: i / 100 + 0.001, decision: i / 100 >= 0.5 ? "decline" : "approve" },
      latencyMs: 0.75 + i / 7,
      caller: i % 2 === 0 ? "web" : "batch",
      artifactSha256: "ab".repeat(32),
      threshold: 0.5,
      ...(i % 4 === 0 ? { scored: { credit_score: 600 + i, purpose: "car", income: 52000 } } : {}),
      ...(i % 5 === 0 ? { reasons: [{ feature: "credit_score", value: 600 + i, contribution: -0.1 / (i + 1) }] } : {}),
    },
    over,
  );
}

/** Decision records (docs/decisions.md) run against every backend: chain, reads, verify, holds, retention. */
export function runDecisionStoreSuite(name: string, make: MakeStores): void {
  describe(`decision records on ${name}`, () => {
    let open: TestStores | undefined;
    afterEach(async () => {
      await open?.close();
      open = undefined;
    });

    /** 60 records written alternately through serving's log (worker on SQLite) and the reader log. */
    async function recorded() {
      open = await make({ clock: steppingClock(T0 + 10_000_000) });
      const s = open.stores;
      for (let i = 0; i < 60; i += 6) {
        await s.servingInferenceLog.append(
          [0, 1, 2].map((k) => record(i + k)),
          { durability: "sync" },
        );
        await s.inferenceLog.append(
          [3, 4, 5].map((k) => record(i + k)),
          { durability: "sync" },
        );
      }
      return s;
    }

    const tamper = (s: Awaited<ReturnType<typeof recorded>>, statement: ReturnType<typeof sql>) =>
      statement.execute(s.metadata.db);

    it("links a large batch of serving's log, written in one transaction, into a chain that verifies", async () => {
      open = await make({ clock: steppingClock(T0 + 10_000_000) });
      const s = open.stores;
      // 101 records: a batch of 100 linked over several turns of the event loop, then one more.
      void s.servingInferenceLog.append(Array.from({ length: 100 }, (_, i) => record(i)));
      await s.servingInferenceLog.append([record(100)], { durability: "sync" });
      expect(await s.decisions.verify()).toEqual({ ok: true, records: 101, pruned: 0, checkpoints: 0 });
      const all = await s.decisions.search({ limit: 1000 });
      expect(all.map((r) => r.requestId)).toEqual(Array.from({ length: 101 }, (_, i) => record(i).requestId));
    });

    it("links every record written by any log into one chain and reads them back as decisions", async () => {
      const s = await recorded();
      expect(await s.decisions.verify()).toEqual({ ok: true, records: 60, pruned: 0, checkpoints: 0 });
      const all = await s.decisions.search({ limit: 1000 });
      expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(all[0]?.prevHash).toBe("0".repeat(64));
      for (let i = 1; i < all.length; i++) expect(all[i]?.prevHash).toBe(all[i - 1]?.hash);

      const [r8] = await s.decisions.get("req-0008");
      expect(r8).toMatchObject({
        requestId: "req-0008",
        time: T0 + 8000,
        caller: "web",
        endpoint: "loans",
        modelName: "loans",
        modelVersion: "1",
        artifactSha256: "ab".repeat(32),
        threshold: 0.5,
        inputs: { credit_score: 608, purpose: "car", income: "52000" },
        scored: { credit_score: 608, purpose: "car", income: 52000 },
        score: 0.08 + 0.001,
        decision: "approve",
        reasons: null,
        route: "champion",
        latencyMs: 0.75 + 8 / 7,
      });
      const [r5] = await s.decisions.get("req-0005");
      // without a separate scored copy the scored inputs are the received ones
      expect(r5?.scored).toEqual(r5?.inputs);
      expect(r5?.reasons).toEqual([{ feature: "credit_score", value: 605, contribution: -0.1 / 6 }]);
    });

    it("finds a multi-row request's records by its id and searches by every filter", async () => {
      const s = await recorded();
      await s.inferenceLog.append(
        [0, 1].map((k) => record(100, { requestId: `multi_1#${k}` })),
        { durability: "sync" },
      );
      // `_` is a LIKE wildcard: it must not match another request
      await s.inferenceLog.append([record(101, { requestId: "multiX1#0" })], { durability: "sync" });
      expect((await s.decisions.get("multi_1")).map((r) => r.requestId)).toEqual(["multi_1#0", "multi_1#1"]);
      expect(await s.decisions.get("nope")).toEqual([]);

      const ids = async (q: Parameters<typeof s.decisions.search>[0]) =>
        (await s.decisions.search(q)).map((r) => Number(r.requestId.slice(4)));
      expect(await ids({ endpoint: "loans-eu", to: T0 + 20_000 })).toEqual([0, 3, 6, 9, 12, 15, 18]);
      expect(await ids({ modelVersion: "2", from: T0 + 10_000, to: T0 + 16_000 })).toEqual([11, 13, 15]);
      expect(await ids({ decision: "decline", to: T0 + 53_000 })).toEqual([50, 51, 52]);
      expect(await ids({ decision: "Decline" })).toEqual([]);
      const first = await s.decisions.search({ limit: 5 });
      const next = await s.decisions.search({ limit: 5, afterSeq: first[4]?.seq });
      expect(next.map((r) => r.requestId)).toEqual(["req-0005", "req-0006", "req-0007", "req-0008", "req-0009"]);
      await expectKeelError(s.decisions.search({ limit: 0 }), "INVALID_PARAMETER_VALUE", /limit = 0/);
    });

    it("carries each decision's review, joined by endpoint and request id, without touching the chain", async () => {
      const s = await recorded();
      const before = (await s.decisions.search({ limit: 1000 })).map((r) => r.hash);
      const item = (i: number, endpoint: string) => ({
        endpoint,
        requestId: `req-${String(i).padStart(4, "0")}`,
        modelName: "loans",
        modelVersion: "1",
        route: "champion",
        score: i / 100 + 0.001,
        modelDecision: "approve",
        interimDecision: "refer",
        positiveDecision: "decline",
        negativeDecision: "approve",
        reasons: ["score_band"],
        inputs: { credit_score: 600 + i },
      });
      // req-0012 was served on loans-eu: an item of the same id on another endpoint is not its review
      await s.reviews.enqueue([item(10, "loans"), item(20, "loans"), item(12, "loans"), item(24, "loans-eu")], T0);
      const decided = await s.reviews.decide("loans", "req-0010", "ana", {
        decision: "decline",
        reason: "income unverified",
      });
      await s.reviews.decide("loans", "req-0012", "ana", { decision: "approve", reason: "fine" });
      await s.reviews.claim("loans", "req-0020", "bo");

      const [r10] = await s.decisions.get("req-0010");
      expect(r10?.review).toEqual({
        status: "decided",
        interimDecision: "refer",
        claimedBy: "ana",
        verdict: "decline",
        verdictReason: "income unverified",
        decidedBy: "ana",
        decidedAt: decided.decidedAt,
        overridden: true,
      });
      expect((await s.decisions.get("req-0020"))[0]?.review).toMatchObject({
        status: "claimed",
        claimedBy: "bo",
        verdict: null,
        decidedAt: null,
        overridden: null,
      });
      expect((await s.decisions.get("req-0024"))[0]?.review?.status).toBe("pending");
      expect((await s.decisions.get("req-0012"))[0]?.review).toBeNull();
      expect((await s.decisions.get("req-0011"))[0]?.review).toBeNull();

      const ids = async (q: Parameters<typeof s.decisions.search>[0]) =>
        (await s.decisions.search({ limit: 1000, ...q })).map((r) => Number(r.requestId.slice(4)));
      expect(await ids({ reviewed: true })).toEqual([10]);
      // pending and claimed items count as not reviewed
      const open = await ids({ reviewed: false });
      expect(open).toHaveLength(59);
      expect(open).toEqual(expect.arrayContaining([12, 20, 24]));
      expect(await ids({ reviewed: true, endpoint: "loans-eu" })).toEqual([]);
      const all = await s.decisions.search({ limit: 1000 });
      expect(all.filter((r) => r.review !== null).map((r) => r.requestId)).toEqual([
        "req-0010",
        "req-0020",
        "req-0024",
      ]);

      expect(await s.decisions.verify()).toEqual({ ok: true, records: 60, pruned: 0, checkpoints: 0 });
      expect(all.map((r) => r.hash)).toEqual(before);
    });

    it("names the first altered record", async () => {
      const s = await recorded();
      await tamper(
        s,
        sql`update inference_log set outputs = '{"score":0.2,"decision":"approve"}' where request_id = 'req-0041'`,
      );
      expect(await s.decisions.verify()).toEqual({
        ok: false,
        records: 41,
        brokenAt: 42,
        requestId: "req-0041",
        reason: "record 42 (request req-0041) was altered: its content does not match its hash",
      });
    });

    it("names a record rewritten with a fresh hash by the link that no longer holds", async () => {
      const s = await recorded();
      await tamper(s, sql`update inference_log set hash = ${"f".repeat(64)} where request_id = 'req-0010'`);
      const v = await s.decisions.verify();
      expect(v).toMatchObject({ ok: false, brokenAt: 11, requestId: "req-0010" });
    });

    it("names a deleted record and deleted trailing records", async () => {
      const s = await recorded();
      await tamper(s, sql`delete from inference_log where request_id = 'req-0020'`);
      expect(await s.decisions.verify()).toMatchObject({
        ok: false,
        brokenAt: 21,
        requestId: "req-0021",
        reason: "record 21 is missing (deleted); the next is record 22 (request req-0021)",
      });

      const t = await recorded();
      await tamper(t, sql`delete from inference_log where request_id in ('req-0058', 'req-0059')`);
      expect(await t.decisions.verify()).toMatchObject({ ok: false, brokenAt: 59, records: 58 });
    });

    it("deletes old records by retention except those under legal hold, and still verifies", async () => {
      const s = await recorded();
      const holds = await s.decisions.hold("req-0010", "dispute 2024-17", "compliance");
      expect(holds).toEqual([expect.objectContaining({ requestId: "req-0010", reason: "dispute 2024-17" })]);
      await expectKeelError(s.decisions.hold("req-9999", "x", "compliance"), "RESOURCE_DOES_NOT_EXIST");
      expect(await s.decisions.holds()).toEqual([
        { requestId: "req-0010", reason: "dispute 2024-17", actor: "compliance", time: expect.any(Number) as number },
      ]);

      const result = await s.decisions.applyRetention(T0 + 30_000, "ops");
      expect(result).toEqual({ deleted: 29, held: 1 });
      expect((await s.decisions.search({ limit: 1000 })).map((r) => r.requestId).slice(0, 2)).toEqual([
        "req-0010",
        "req-0030",
      ]);
      expect(await s.decisions.verify()).toEqual({ ok: true, records: 31, pruned: 29, checkpoints: 0 });
      const audit = await s.audit.list({ targetType: "decision" });
      expect(audit.map((a) => [a.action, a.actor])).toEqual([
        ["decision.hold", "compliance"],
        ["decision.retention", "ops"],
      ]);

      // a second pass after lifting the hold removes the held record too, and the chain still holds
      expect(await s.decisions.release("req-0010", "compliance")).toBe(1);
      await expectKeelError(s.decisions.release("req-0010", "compliance"), "RESOURCE_DOES_NOT_EXIST");
      expect(await s.decisions.applyRetention(T0 + 30_000, "ops")).toEqual({ deleted: 1, held: 0 });
      expect(await s.decisions.verify()).toEqual({ ok: true, records: 30, pruned: 30, checkpoints: 0 });
      // ...while a deletion retention did not make is still caught
      await tamper(s, sql`delete from inference_log where request_id = 'req-0031'`);
      expect(await s.decisions.verify()).toMatchObject({ ok: false, brokenAt: 32, requestId: "req-0032" });
    });
  });
}
