import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import {
  JudgeError,
  runLlmWindow,
  samplePoint,
  type JudgeExample,
  type JudgeVerdict,
  type LlmJudgeSettings,
} from "../../../src/llm/index.js";
import { openStores } from "../../../src/open-stores.js";
import type { LlmSpan } from "../../../src/store/index.js";

describe("trace sampling", () => {
  it("places a trace at the same point every time, spreading traces evenly", () => {
    const ids = Array.from({ length: 4000 }, (_, i) => i.toString(16).padStart(32, "0"));
    expect(samplePoint("judge", ids[7] as string)).toBe(samplePoint("judge", ids[7] as string));
    const share = ids.filter((id) => samplePoint("judge", id) < 0.25).length / ids.length;
    // binomial(4000, 0.25): sd 0.0068; 5 sd either side
    expect(Math.abs(share - 0.25)).toBeLessThan(0.035);
    expect(samplePoint("review", ids[7] as string)).not.toBe(samplePoint("judge", ids[7] as string));
  });
});

describe("an LLM route's monitor window job", () => {
  const T0 = 1_767_225_600_000;
  let dir: string;
  let stores: ReturnType<typeof openStores>;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-llm-job-"));
    const config = loadConfig({ flags: { dataDir: dir }, env: {} });
    stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
    await stores.migrate();
    await stores.traces.writeSpans(
      Array.from({ length: 40 }, (_, i): LlmSpan => ({
        traceId: (i + 1).toString(16).padStart(32, "0"),
        spanId: (i + 1).toString(16).padStart(16, "0"),
        name: "chat m",
        startTime: T0 + i * 1000,
        endTime: T0 + i * 1000 + 50,
        status: i === 39 ? "error" : "ok",
        route: "support",
        guardrails: [],
        attributes:
          i === 39
            ? {}
            : {
                "gen_ai.input.messages": JSON.stringify([
                  { role: "system", parts: [{ type: "text", content: "Refunds take five days." }] },
                  { role: "user", parts: [{ type: "text", content: `q${i}` }] },
                ]),
                "gen_ai.output.messages": JSON.stringify([
                  { role: "assistant", parts: [{ type: "text", content: `a${i}` }], finish_reason: "stop" },
                ]),
              },
      })),
    );
  });
  afterEach(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const deps = (judge?: (e: JudgeExample) => Promise<JudgeVerdict>) => ({
    traces: stores.traces,
    observations: stores.observations,
    reviews: stores.reviews,
    clock: () => T0 + 3_600_000,
    ...(judge === undefined ? {} : { judge }),
  });
  const window = { windowStart: T0, windowEnd: T0 + 3_600_000 };
  const judgeSettings = (over: Partial<LlmJudgeSettings> = {}): LlmJudgeSettings => ({
    route: "judge",
    rubric: { name: "g", ref: "1" },
    sampleRate: 1,
    minScore: 0,
    maxScore: 1,
    hallucinationBelow: 0.5,
    maxPerWindow: 200,
    ...over,
  });

  it("judges at most maxPerWindow answered calls, counts failed verdicts, and never judges a call twice", async () => {
    const asked: string[] = [];
    const judge = (e: JudgeExample) => {
      asked.push(e.output);
      // the judge sees the question, the answer and what the answer should rest on
      expect([e.input, e.context]).toEqual([`q${e.output.slice(1)}`, "Refunds take five days."]);
      // every fifth answer gets a malformed verdict; a0..a9 score low
      const n = Number(e.output.slice(1));
      if (n % 5 === 4) return Promise.reject(new JudgeError("the judge's answer is not JSON"));
      return Promise.resolve({ score: n < 10 ? 0.2 : 0.8, reason: `r${n}` });
    };
    const settings = { route: "support", windows: ["hourly"], judge: judgeSettings({ maxPerWindow: 25 }) };
    const first = await runLlmWindow(deps(judge), settings, window);
    expect(first).toMatchObject({ requests: 40, judgedNow: 20, judgeErrors: 5 });
    expect(asked).toHaveLength(25);
    const value = (metric: string) => first.observations.find((o) => o.metric === metric)?.value;
    expect(value("judged_count")).toBe(20);
    expect(value("judge_error_count")).toBe(5);
    // judged: a0..a24 less a4, a9, a14, a19, a24; those under 10 (8 of them) score 0.2
    expect(value("hallucination_rate")).toBeCloseTo(8 / 20, 12);
    expect(value("error_rate")).toBeCloseTo(1 / 40, 12);

    // again: the 20 verdicts are reused; the 19 answers without one are asked for (7 fail again)
    asked.length = 0;
    const second = await runLlmWindow(deps(judge), settings, window);
    expect(asked).toHaveLength(19);
    expect(asked[0]).toBe("a4");
    expect(second).toMatchObject({ judgedNow: 12, judgeErrors: 7 });
    expect(second.observations.find((o) => o.metric === "judged_count")?.value).toBe(32);
  });

  it("queues the review sample and every low score, with what the reviewer needs, once", async () => {
    const judge = (e: JudgeExample) => Promise.resolve({ score: e.output === "a3" ? 0.1 : 0.9, reason: "why" });
    const settings = {
      route: "support",
      windows: ["hourly"],
      judge: judgeSettings(),
      review: { sampleRate: 0.25, belowScore: 0.5, maxPerWindow: 100 },
    };
    const run = await runLlmWindow(deps(judge), settings, window);
    const ids = Array.from({ length: 39 }, (_, i) => (i + 1).toString(16).padStart(32, "0"));
    const sampled = ids.filter((id) => samplePoint("review", id) < 0.25);
    const a3 = ids[3] as string;
    const expected = [...new Set([...sampled, a3])].sort();
    expect(sampled.length).toBeGreaterThan(3);
    const items = await stores.reviews.list({ endpoint: "llm:support" });
    expect(items.map((i) => i.requestId).sort()).toEqual(expected);
    expect(run).toMatchObject({ judgedNow: 39, queuedForReview: expected.length });
    const low = items.find((i) => i.requestId === a3);
    expect(low).toMatchObject({
      modelName: "support",
      modelDecision: "fail",
      reasons: [...(sampled.includes(a3) ? ["sample"] : []), "judge_score_below: 0.5"],
      score: 0.1,
      inputs: { input: "q3", output: "a3", judge_score: 0.1, judge_reason: "why", trace_id: a3, prompt: null },
    });
    expect(items.find((i) => i.requestId !== a3)).toMatchObject({ modelDecision: "pass", reasons: ["sample"] });
    await runLlmWindow(deps(judge), settings, window);
    expect(await stores.reviews.list({ endpoint: "llm:support" })).toHaveLength(expected.length);
  });

  it("queues unjudged calls as such without a judge, and refuses a judge setting with no judge wired", async () => {
    const run = await runLlmWindow(
      deps(),
      { route: "support", windows: ["hourly"], review: { sampleRate: 1, maxPerWindow: 3 } },
      window,
    );
    expect(run.queuedForReview).toBe(3);
    const items = await stores.reviews.list({ endpoint: "llm:support" });
    expect(items.map((i) => [i.modelDecision, i.score, i.reasons])).toEqual(Array(3).fill(["unjudged", 0, ["sample"]]));
    await expect(
      runLlmWindow(deps(), { route: "support", windows: ["hourly"], judge: judgeSettings() }, window),
    ).rejects.toThrow("monitor.judge is set but no judge is wired");
  });
});
