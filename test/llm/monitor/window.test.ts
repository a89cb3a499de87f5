import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { llmWindowObservations, traceFacts, type Judgment } from "../../../src/llm/index.js";
import type { LlmSpan, MonitorObservation } from "../../../src/store/index.js";

interface Call {
  trace_id: string;
  prompt: string;
  latency_ms: number;
  error: boolean;
  guardrails: string[];
  input_tokens?: number;
  output_tokens?: number;
  cached?: boolean;
  cost?: number | null;
  output?: string;
  finish_reason?: string;
  output_pii?: string[];
  judge_score?: number;
}
type Figures = Record<string, number | Record<string, number>>;
const fixture = JSON.parse(
  readFileSync(new URL("../../fixtures/llm/monitor/window.json", import.meta.url), "utf8"),
) as { hallucination_below: number; calls: Call[]; expected: Record<string, Figures> };

const T0 = 1_767_225_600_000;

/** A span as the gateway writes it (OpenTelemetry GenAI content attributes, keel's guardrail facts). */
function spanOf(c: Call, i: number): LlmSpan {
  const [promptName, promptVersion] = c.prompt.split("@") as [string, string];
  const attributes: Record<string, unknown> = {
    "gen_ai.input.messages": JSON.stringify([{ role: "user", parts: [{ type: "text", content: `question ${i}` }] }]),
  };
  if (!c.error) {
    attributes["gen_ai.output.messages"] = JSON.stringify([
      { role: "assistant", parts: [{ type: "text", content: c.output }], finish_reason: c.finish_reason },
    ]);
    if (c.cached === true) attributes["keel.cache.hit"] = true;
    if ((c.output_pii ?? []).length > 0) attributes["keel.guardrails.output.pii_types"] = c.output_pii;
  }
  return {
    traceId: c.trace_id,
    spanId: "00000000000000" + (i % 256).toString(16).padStart(2, "0"),
    name: "chat m",
    startTime: T0 + i * 1000,
    endTime: T0 + i * 1000 + c.latency_ms,
    status: c.error ? "error" : "ok",
    route: "support",
    promptName,
    promptVersion,
    guardrails: c.guardrails,
    ...(c.input_tokens === undefined ? {} : { inputTokens: c.input_tokens, outputTokens: c.output_tokens as number }),
    ...(c.cost === undefined || c.cost === null ? {} : { cost: c.cost }),
    attributes,
  };
}

describe("an LLM route's monitor window", () => {
  const judgments = new Map<string, Judgment>(
    fixture.calls.flatMap((c) =>
      c.judge_score === undefined ? [] : [[c.trace_id, { score: c.judge_score, reason: "r" }]],
    ),
  );
  const observations = llmWindowObservations(fixture.calls.map(spanOf).map(traceFacts), {
    route: "support",
    windowStart: T0,
    windowEnd: T0 + 3_600_000,
    judgments,
    hallucinationBelow: fixture.hallucination_below,
  });

  it.each(Object.keys(fixture.expected))("matches numpy's figures for prompt %j (empty: pooled)", (prompt) => {
    const mine = observations.filter((o) => (o.modelVersion ?? "") === prompt);
    const byMetric = (metric: string, feature?: string): MonitorObservation | undefined =>
      mine.find((o) => o.metric === metric && o.feature === feature);
    for (const [metric, want] of Object.entries(fixture.expected[prompt] as Figures)) {
      if (typeof want === "number") {
        // Latency comes from epoch-ms start and end times: a double holds them to about a microsecond.
        expect(byMetric(metric)?.value, metric).toBeCloseTo(want, metric.startsWith("latency") ? 3 : 9);
      } else {
        for (const [check, rate] of Object.entries(want))
          expect(byMetric(metric, check)?.value, `${metric} ${check}`).toBeCloseTo(rate, 12);
      }
    }
    expect(mine.every((o) => o.kind === "llm" && o.modelName === "support")).toBe(true);
  });

  it("counts the judge's failures on the pooled series only", () => {
    const facts = fixture.calls.slice(0, 5).map(spanOf).map(traceFacts);
    const obs = llmWindowObservations(facts, { route: "r", windowStart: 0, windowEnd: 1, judgeErrors: 2 });
    expect(obs.filter((o) => o.metric === "judge_error_count").map((o) => [o.modelVersion, o.value])).toEqual([
      [undefined, 2],
    ]);
    expect(obs.some((o) => o.metric === "hallucination_rate")).toBe(false);
  });

  it("reads PII from the gateway's output check, and looks for it in the delivered output when none ran", () => {
    const call = { ...(fixture.calls.find((c) => !c.error) as Call), output: "Mail ana@example.com", output_pii: [] };
    const base = spanOf(call, 1);
    expect(traceFacts(base).outputPii).toEqual(["email"]);
    const checked = { ...base, attributes: { ...base.attributes, "keel.guardrails.output.pii_types": [] } };
    expect(traceFacts(checked).outputPii).toEqual([]);
  });

  it("writes nothing for a window without traces", () => {
    expect(llmWindowObservations([], { route: "r", windowStart: 0, windowEnd: 1 })).toEqual([]);
  });
});
