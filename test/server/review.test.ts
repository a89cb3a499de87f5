import path from "node:path";
import { describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { startModelServing } from "../../src/server/model-serving.js";
import { startServer } from "../../src/server/start.js";
import { rejected } from "../keel-error.js";
import { FIXTURES, fixture } from "../serving/fixtures.js";
import { postgresStores, sqliteStores, type MakeStores, type TestStores } from "../store/backends.js";

const model = fixture("xgb_binary.json");
const ROWS = 200;
const BAND = { min: 0.4, max: 0.6 };
const SAMPLE = 0.05;
const RULE = "c >= 5 and e > 1";

/** FNV-1a over UTF-16 code units, written here from its definition (the sample's hash). */
function fnv1a(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h >>> 0;
}

/** The reasons a row must be reviewed for, from XGBoost's own score and the row's inputs. */
function expectedReasons(i: number, requestId: string): string[] {
  const out: string[] = [];
  const score = model.expected[i] as number;
  if (score >= BAND.min && score <= BAND.max) out.push("score_band");
  if (fnv1a(`review\u0000${requestId}`) % 10_000 < SAMPLE * 10_000) out.push("sample");
  const c = model.columns.c?.[i];
  const e = model.columns.e?.[i];
  if (c !== null && c !== undefined && c >= 5 && e !== null && e !== undefined && e > 1) out.push(`rule: ${RULE}`);
  return out;
}

async function boot(t: TestStores) {
  const config = loadConfig({
    flags: {
      port: 0,
      host: "127.0.0.1",
      backendStoreUri: t.uri,
      artifactRoot: t.artifactRoot,
      logLevel: "silent",
      authEnabled: true,
    },
    env: {},
  });
  const serving = await startModelServing(t.stores, config);
  const server = await startServer({ config, stores: t.stores, serving: serving.serving });
  return {
    url: server.url,
    async stop() {
      await server.close();
      await serving.stop();
    },
  };
}

type Prediction = { score: number; decision: string; review?: string };

function suite(name: string, make: MakeStores) {
  describe(`the human review queue on ${name}`, () => {
    it("queues what each rule matches, takes verdicts from reviewers only, and turns them into labels", async () => {
      const t = await make();
      const running = await boot(t).catch(async (e: unknown) => {
        await t.close();
        throw e;
      });
      try {
        const token = async (n: string, role: "writer" | "reviewer" | "approver" | "admin") =>
          new KeelClient({ baseUrl: running.url, token: (await t.stores.tokens.create({ name: n, role })).token });
        const writer = await token("ci", "writer");
        const anaToken = (await t.stores.tokens.create({ name: "ana", role: "reviewer" })).token;
        const ana = new KeelClient({ baseUrl: running.url, token: anaToken });
        const ben = await token("ben", "reviewer");
        const approver = await token("boss", "approver");
        const writerToken = (await t.stores.tokens.create({ name: "ci2", role: "writer" })).token;

        const v = await t.stores.registry.createModelVersion({
          name: "credit",
          source: path.join(FIXTURES, "xgb_binary.json"),
        });
        await t.stores.registry.setAlias("credit", "champion", v.version);
        const endpoint = {
          model: "credit",
          decision: { threshold: 0.5, positive: "reject", negative: "approve" },
          input: { ranges: "accept", categories: "accept" },
          review: { scoreBand: BAND, sampleRate: SAMPLE, rules: [RULE], interimDecision: "refer" },
        };
        const put = (doc: unknown) =>
          fetch(`${running.url}/api/keel/endpoints/loans`, {
            method: "PUT",
            headers: { "content-type": "application/json", authorization: `Bearer ${writerToken}` },
            body: JSON.stringify(doc),
          });
        // A rule on a column the model does not have is refused, naming the field, value and rule.
        const bad = await put({ ...endpoint, review: { rules: ["loan_amount > 50000"] } });
        expect(bad.status).toBe(400);
        expect(((await bad.json()) as { message: string }).message).toBe(
          'endpoint.review.rules[0] = "loan_amount > 50000": column loan_amount is not an input of the model\'s signature',
        );
        expect((await put(endpoint)).status).toBe(200);

        const expected = new Map<string, { reasons: string[]; row: number }>();
        for (let i = 0; i < ROWS; i++) {
          const requestId = `app-${i}`;
          const res = await fetch(`${running.url}/api/keel/endpoints/loans/predict`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              authorization: `Bearer ${writerToken}`,
              "x-request-id": requestId,
            },
            body: JSON.stringify([model.row(i)]),
          });
          expect(res.status).toBe(200);
          const p = ((await res.json()) as { predictions: Prediction[] }).predictions[0] as Prediction;
          const reasons = expectedReasons(i, requestId);
          if (reasons.length > 0) {
            expected.set(requestId, { reasons, row: i });
            expect(p).toMatchObject({ decision: "refer", review: "pending" });
          } else {
            expect(p.review).toBeUndefined();
            expect(p.decision).toBe((model.expected[i] as number) >= 0.5 ? "reject" : "approve");
          }
        }
        // Every rule was hit, and each by some row that no other rule matched.
        for (const r of ["score_band", "sample", `rule: ${RULE}`]) {
          expect([...expected.values()].some((e) => e.reasons.length === 1 && e.reasons[0] === r)).toBe(true);
        }

        const queued = await ana.listReviews({ endpoint: "loans", limit: 1000 });
        expect(new Map(queued.map((q) => [q.request_id, q.reasons]))).toEqual(
          new Map([...expected].map(([id, e]) => [id, e.reasons])),
        );
        for (const q of queued) {
          const row = (expected.get(q.request_id) as { row: number }).row;
          expect(q.score).toBeCloseTo(model.expected[row] as number, 6);
          expect(q).toMatchObject({ status: "pending", interim_decision: "refer", decisions: ["reject", "approve"] });
          expect(q.model_decision).toBe(q.score >= 0.5 ? "reject" : "approve");
        }

        // Neither a writer nor an approver can touch the queue, by any route.
        const first = queued[0]!;
        for (const who of [writer, approver]) {
          expect((await rejected(who.listReviews())).status).toBe(403);
          expect((await rejected(who.claimReview("loans", first.request_id))).status).toBe(403);
          expect(
            (await rejected(who.decideReview("loans", first.request_id, { decision: "approve", reason: "x" }))).status,
          ).toBe(403);
        }
        const sneaky = await fetch(`${running.url}/api/keel/review/loans/${first.request_id}/decide`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${writerToken}` },
          body: JSON.stringify({ decision: "approve", reason: "x", reviewer: "ana" }),
        });
        expect(sneaky.status).toBe(403);
        expect((await ana.getReview("loans", first.request_id)).status).toBe("pending");
        expect(await t.stores.labels.byRequestIds([first.request_id])).toEqual([]);

        // ana claims the first item; ben cannot decide it; ana cannot decide in ben's name.
        expect(await ana.claimReview("loans", first.request_id)).toMatchObject({
          status: "claimed",
          claimed_by: "ana",
        });
        const taken = await rejected(ben.decideReview("loans", first.request_id, { decision: "approve", reason: "x" }));
        expect(taken.code).toBe("INVALID_STATE");
        expect(taken.message).toContain("is claimed by ana");
        // Its decision record shows the open review to any reader.
        const [claimedRecord] = await writer.getDecision(first.request_id);
        expect(claimedRecord?.review).toMatchObject({
          status: "claimed",
          claimed_by: "ana",
          interim_decision: "refer",
          verdict: null,
        });
        const badVerdict = await rejected(
          ana.decideReview("loans", first.request_id, { decision: "refer", reason: "x" }),
        );
        expect(badVerdict.message).toBe('decision = "refer": must be one of reject, approve');

        // The queue's gauges: one claimed, the rest pending, the oldest open for a while.
        const metrics = async () => {
          const res = await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${anaToken}` } });
          const text = await res.text();
          return (name: string, labels: string) => {
            const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
            return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
          };
        };
        let m = await metrics();
        expect(m("keel_review_queue_items", 'endpoint="loans",status="pending"')).toBe(queued.length - 1);
        expect(m("keel_review_queue_items", 'endpoint="loans",status="claimed"')).toBe(1);
        expect(m("keel_review_oldest_open_age_seconds", 'endpoint="loans"')).toBeGreaterThan(0);
        expect(m("keel_serving_reviews_queued_total", 'endpoint="loans"')).toBe(queued.length);

        // Verdicts: every third one overrides the model.
        const verdicts = new Map<string, string>();
        for (const [k, q] of queued.entries()) {
          const override = k % 3 === 0;
          const verdict = override ? (q.model_decision === "reject" ? "approve" : "reject") : q.model_decision;
          const reviewer = q.request_id === first.request_id || k % 2 === 0 ? ana : ben;
          const item = await reviewer.decideReview("loans", q.request_id, {
            decision: verdict,
            reason: override ? "income verified by phone" : "agree with the model",
          });
          expect(item).toMatchObject({ status: "decided", verdict, overridden: override });
          verdicts.set(q.request_id, verdict);
        }
        m = await metrics();
        const overrides = queued.filter((_, k) => k % 3 === 0).length;
        expect(m("keel_review_queue_items", 'endpoint="loans",status="pending"')).toBe(0);
        expect(m("keel_review_oldest_open_age_seconds", 'endpoint="loans"')).toBeUndefined();
        expect(m("keel_review_verdicts", 'endpoint="loans",outcome="overridden"')).toBe(overrides);
        expect(m("keel_review_verdicts", 'endpoint="loans",outcome="agreed"')).toBe(queued.length - overrides);
        expect(m("keel_review_agreement_ratio", 'endpoint="loans"')).toBeCloseTo(1 - overrides / queued.length, 12);
        const again = await rejected(ana.decideReview("loans", first.request_id, { decision: "reject", reason: "x" }));
        expect(again.code).toBe("INVALID_STATE");

        // Decision records carry the verdicts; the hash chain is untouched by them.
        await t.stores.servingInferenceLog.flush();
        const [firstRecord] = await writer.getDecision(first.request_id);
        // the record keeps the model's decision; the caller was answered the interim one
        expect(firstRecord?.decision).toBe(first.model_decision);
        expect(firstRecord?.review).toMatchObject({
          status: "decided",
          verdict: verdicts.get(first.request_id),
          decided_by: "ana",
          claimed_by: "ana",
          overridden: true,
          verdict_reason: "income verified by phone",
        });
        expect(Date.parse(firstRecord?.review?.decided_at ?? "")).toBeGreaterThan(0);
        const reviewed = await writer.searchDecisions({ endpoint: "loans", reviewed: true, max_results: 1000 });
        expect(new Map(reviewed.decisions.map((d) => [d.request_id, d.review?.verdict]))).toEqual(verdicts);
        const unreviewed = await writer.searchDecisions({ endpoint: "loans", reviewed: false, max_results: 1000 });
        expect(unreviewed.decisions).toHaveLength(ROWS - verdicts.size);
        expect(unreviewed.decisions.every((d) => d.review === null)).toBe(true);
        expect(await t.stores.decisions.verify()).toEqual({ ok: true, records: ROWS, pruned: 0, checkpoints: 0 });
        const badFilter = await fetch(`${running.url}/api/keel/decisions?reviewed=maybe`, {
          headers: { authorization: `Bearer ${writerToken}` },
        });
        expect(badFilter.status).toBe(400);
        expect(((await badFilter.json()) as { message: string }).message).toBe(
          'reviewed = "maybe": must be true or false',
        );

        const audit = await t.stores.audit.list({ targetType: "review_item", limit: 10_000 });
        const decided = audit.filter((a) => a.action === "review.decide");
        expect(decided).toHaveLength(queued.length);
        expect(decided.find((a) => a.targetId === `loans/${first.request_id}`)?.actor).toBe("ana");
        expect((await t.stores.audit.verifyAuditChain()).ok).toBe(true);

        // The verdicts are the labels of the next performance window.
        await t.stores.servingInferenceLog.flush();
        const perf = await ana.getPerformance({ model: "credit", window: "1d", as_of: Date.now() + 1000 });
        expect(perf.overall.predictions).toBe(ROWS);
        expect(perf.overall.labelled).toBe(verdicts.size);
        expect(perf.overall.positives).toBe([...verdicts.values()].filter((d) => d === "reject").length);
        const labels = await t.stores.labels.byRequestIds([...verdicts.keys()]);
        expect(new Map(labels.map((l) => [l.requestId, l.label]))).toEqual(
          new Map([...verdicts].map(([id, d]) => [id, d === "reject" ? 1 : 0])),
        );
      } finally {
        await running.stop();
        await t.close();
      }
    });
  });
}

suite("SQLite", sqliteStores);
suite("PostgreSQL", postgresStores);
