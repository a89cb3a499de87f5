import { afterEach, describe, expect, it } from "vitest";
import type { LlmSpan } from "../../src/store/index.js";
import type { MakeStores, TestStores } from "./backends.js";
import { rejected } from "../keel-error.js";

const T0 = 1_767_225_600_000;
const tid = (n: number) => n.toString(16).padStart(32, "0");
const sid = (n: number) => n.toString(16).padStart(16, "0");

function span(trace: number, id: number, over: Partial<LlmSpan> = {}): LlmSpan {
  return {
    traceId: tid(trace),
    spanId: sid(id),
    name: `span ${id}`,
    startTime: T0 + trace * 1000,
    endTime: T0 + trace * 1000 + 100,
    status: "ok",
    guardrails: [],
    attributes: { n: id },
    ...over,
  };
}

/** The trace store's contract, run against each backend. */
export function runTraceStoreSuite(backend: string, make: MakeStores): void {
  describe(`trace store on ${backend}`, () => {
    let t: TestStores | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    it("aggregates spans per trace and filters on span facts and trace aggregates", async () => {
      t = await make();
      const s = t.stores.traces;
      await s.writeSpans([
        span(1, 1, {
          route: "support",
          userId: "ana",
          inputTokens: 100,
          outputTokens: 10,
          cost: 0.01,
          guardrails: ["pii"],
        }),
        span(1, 2, {
          parentSpanId: sid(1),
          endTime: T0 + 1000 + 0.25 + 400,
          inputTokens: 5,
          outputTokens: 1,
          cost: 0.002,
        }),
        span(2, 3, { route: "support", promptName: "p", promptVersion: "3", userId: "bob", inputTokens: 7 }),
        span(3, 4, { route: "other", guardrails: ["prompt_injection", "pii"] }),
      ]);
      const ids = async (q: Parameters<typeof s.searchTraces>[0]) =>
        (await s.searchTraces(q)).items.map((x) => x.traceId);
      expect(await ids({})).toEqual([tid(3), tid(2), tid(1)]);
      expect(await ids({ route: "support" })).toEqual([tid(2), tid(1)]);
      expect(await ids({ promptName: "p", promptVersion: "3" })).toEqual([tid(2)]);
      expect(await ids({ userId: "ana" })).toEqual([tid(1)]);
      expect(await ids({ guardrail: "pii" })).toEqual([tid(3), tid(1)]);
      expect(await ids({ guardrail: "prompt_injection" })).toEqual([tid(3)]);
      expect(await ids({ guardrail: "*" })).toEqual([tid(3), tid(1)]);
      expect(await ids({ minCost: 0.012 })).toEqual([tid(1)]);
      expect(await ids({ minLatencyMs: 400 })).toEqual([tid(1)]);
      expect(await ids({ from: T0 + 2000, to: T0 + 3000 })).toEqual([tid(2)]);

      const one = (await s.searchTraces({ userId: "ana" })).items[0]!;
      expect(one).toMatchObject({
        name: "span 1",
        spanCount: 2,
        inputTokens: 105,
        outputTokens: 11,
        guardrails: ["pii"],
      });
      expect(one.cost).toBeCloseTo(0.012, 12);
      expect(one.latencyMs).toBeCloseTo(400.25, 9);

      const page1 = await s.searchTraces({ maxResults: 2 });
      expect(page1.items).toHaveLength(2);
      const page2 = await s.searchTraces({ maxResults: 2, pageToken: page1.nextPageToken });
      expect(page2.items.map((x) => x.traceId)).toEqual([tid(1)]);
      expect(page2.nextPageToken).toBeUndefined();

      expect(await s.routeSpend("support", T0)).toBeCloseTo(0.01, 12);
      expect(await s.routeSpend("support", T0 + 1001)).toBe(0);
    });

    it("replaces a re-sent span, keeps feedback, and deletes old traces with their feedback", async () => {
      t = await make();
      const s = t.stores.traces;
      await s.writeSpans([span(1, 1, { name: "first" }), span(2, 2)]);
      await s.writeSpans([span(1, 1, { name: "again", attributes: { "gen_ai.request.model": "m" } })]);
      const detail = await s.getTrace(tid(1));
      expect(detail.spans.map((x) => [x.name, x.attributes])).toEqual([["again", { "gen_ai.request.model": "m" }]]);
      await s.addFeedback({ traceId: tid(1), score: 1, userId: "rev" });
      await s.addFeedback({ traceId: tid(2), score: 0, comment: "wrong", userId: "rev" });
      expect((await s.getTrace(tid(2))).feedback).toMatchObject([{ score: 0, comment: "wrong", userId: "rev" }]);
      expect((await rejected(s.addFeedback({ traceId: tid(9), score: 1, userId: "x" }))).code).toBe(
        "RESOURCE_DOES_NOT_EXIST",
      );

      expect(await s.deleteBefore(T0 + 1500)).toBe(1);
      expect((await rejected(s.getTrace(tid(1)))).code).toBe("RESOURCE_DOES_NOT_EXIST");
      expect((await s.getTrace(tid(2))).feedback).toHaveLength(1);
    });

    it("lists a window's routed spans page by page, in start order, and the feedback of given traces", async () => {
      t = await make();
      const s = t.stores.traces;
      // traces 1..7 start one second apart; trace 4 has two spans starting together; trace 6 names no route
      await s.writeSpans([
        ...[1, 2, 3, 5, 7].map((n) => span(n, n, { route: n === 5 ? "other" : "support" })),
        span(4, 40, { route: "support" }),
        span(4, 41, { route: "support" }),
        span(6, 6),
      ]);
      const pages: string[][] = [];
      let after: string | undefined;
      do {
        const page = await s.listSpans({ from: T0 + 2000, to: T0 + 7000, limit: 2, ...(after ? { after } : {}) });
        pages.push(page.spans.map((x) => x.spanId));
        after = page.next;
      } while (after !== undefined);
      expect(pages).toEqual([[sid(2), sid(3)], [sid(40), sid(41)], [sid(5)]]);
      const support = await s.listSpans({ route: "support", from: T0, to: T0 + 10_000 });
      expect(support.spans.map((x) => x.traceId)).toEqual([1, 2, 3, 4, 4, 7].map(tid));
      expect(support.next).toBeUndefined();
      expect((await rejected(s.listSpans({ from: 0, to: 1, limit: 0 }))).message).toBe(
        "limit = 0: must be an integer from 1 to 10000",
      );
      await s.addFeedback({ traceId: tid(2), score: 0.25, comment: "judge", userId: "keel-judge" });
      await s.addFeedback({ traceId: tid(3), score: 1, userId: "ana" });
      expect((await s.feedbackOf([tid(2), tid(9)])).map((f) => [f.traceId, f.score, f.userId])).toEqual([
        [tid(2), 0.25, "keel-judge"],
      ]);
      expect(await s.feedbackOf([])).toEqual([]);
    });

    it("refuses malformed ids and times, naming the field", async () => {
      t = await make();
      const e = await rejected(t.stores.traces.writeSpans([span(1, 1, { traceId: "XYZ" })]));
      expect(e.message).toBe('spans[0].traceId = "XYZ": must be 32 lowercase hex digits');
      const back = await rejected(t.stores.traces.writeSpans([span(1, 1, { endTime: T0 - 1 })]));
      expect(back.message).toContain("end ≥ start");
    });
  });
}
