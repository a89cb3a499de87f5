import { detectPii, llmWindowObservations, traceFacts } from "../src/llm/index.js";
import type { LlmSpan } from "../src/store/index.js";
import { piiScores, readPiiCorpus } from "../test/fixtures/llm/pii-scores.js";

/**
 * LLM benchmarks.
 * 1. The PII detector's span-level exact-match precision and recall per type on the committed
 *    labelled corpus (test/fixtures/llm/pii-corpus.jsonl, 3,000 sentences), and its speed over it.
 * 2. One LLM monitor window over 20,000 gateway spans (facts, then every figure pooled and per
 *    prompt version).
 */
function corpusScores(): void {
  const corpus = readPiiCorpus();
  const rows = piiScores(corpus);
  console.log(`PII detector on ${corpus.length} labelled sentences (target ≥ 0.98 each):`);
  console.log("type   labelled  precision  recall  false+  missed");
  for (const r of rows) {
    console.log(
      `${r.type.padEnd(6)} ${String(r.labelled).padStart(8)}  ${r.precision.toFixed(4).padStart(9)}  ${r.recall.toFixed(4).padStart(6)}  ${String(r.fp).padStart(6)}  ${String(r.fn).padStart(6)}`,
    );
  }
  const bytes = corpus.reduce((n, s) => n + Buffer.byteLength(s.text), 0);
  const rounds = 20;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) for (const s of corpus) detectPii(s.text);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `detectPii: ${((bytes * rounds) / 1024 / 1024 / s).toFixed(1)} MB/s (${((s / rounds / corpus.length) * 1e6).toFixed(1)} µs a sentence)`,
  );
}

function monitorWindow(): void {
  const n = 20_000;
  const spans: LlmSpan[] = Array.from({ length: n }, (_, i) => ({
    traceId: i.toString(16).padStart(32, "0"),
    spanId: i.toString(16).padStart(16, "0"),
    name: "chat m",
    startTime: i * 100,
    endTime: i * 100 + 200 + (i % 997),
    status: i % 50 === 0 ? "error" : "ok",
    route: "support",
    promptName: "support",
    promptVersion: String(1 + (i % 3)),
    inputTokens: 100 + (i % 300),
    outputTokens: 20 + (i % 80),
    cost: 0.0001,
    guardrails: i % 7 === 0 ? ["pii"] : [],
    attributes: {
      "gen_ai.output.messages": JSON.stringify([
        {
          role: "assistant",
          parts: [{ type: "text", content: i % 11 === 0 ? "I'm unable to help." : "Sure." }],
          finish_reason: "stop",
        },
      ]),
    },
  }));
  const t0 = process.hrtime.bigint();
  const obs = llmWindowObservations(spans.map(traceFacts), { route: "support", windowStart: 0, windowEnd: n * 100 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`LLM monitor window: ${n} spans → ${obs.length} observations in ${ms.toFixed(0)} ms`);
}

export function run(): Promise<void> {
  corpusScores();
  monitorWindow();
  return Promise.resolve();
}
