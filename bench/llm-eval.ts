import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createDatasetVersion, createPromptVersion, parseLlmConfig, runEvaluation } from "../src/llm/index.js";
import { openStores } from "../src/open-stores.js";
import { startLlm } from "../src/server/index.js";

/**
 * keel's own cost of an LLM evaluation on SQLite: N examples through the gateway (prompt rendering,
 * guardrail-free route, trace span per call) with three evaluators, one of them an LLM judge (a
 * second gateway call per example), the results artifact and the tracking run. The upstream is an
 * in-process `fetch` answering at once, so the figure is keel's overhead, not a model's latency.
 * Each gateway call writes its trace span in its own durable transaction, which dominates.
 * Knob: KEEL_BENCH_LLM_EVAL_EXAMPLES (default 1000).
 */
const TARGET = 50;

function completion(content: string): Response {
  return new Response(
    JSON.stringify({
      id: "x",
      object: "chat.completion",
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 },
    }),
    { status: 200, headers: { "content-type": "application/json" } },
  );
}

const fakeFetch = (_url: string, init: RequestInit): Promise<Response> => {
  const body = JSON.parse(init.body as string) as { messages: { content: string }[] };
  const text = body.messages.map((m) => m.content).join("\n");
  if (text.startsWith("Grade")) return Promise.resolve(completion('{"score": 1, "reason": "ok"}'));
  return Promise.resolve(completion(`The answer is ${/#(\d+)/.exec(text)?.[1] ?? "?"}.`));
};

export async function run(): Promise<void> {
  const n = Number(process.env.KEEL_BENCH_LLM_EVAL_EXAMPLES ?? 1000);
  const dir = mkdtempSync(path.join(tmpdir(), "keel-bench-llm-eval-"));
  const stores = openStores({
    backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
    artifactRoot: path.join(dir, "artifacts"),
  });
  try {
    await stores.migrate();
    await createPromptVersion(stores.registry, { name: "qa", template: "Question #{{id}}: {{q}}", commitMessage: "b" });
    await createPromptVersion(stores.registry, {
      name: "grader",
      template: "Grade {{output}} against {{reference}}",
      commitMessage: "g",
    });
    const examples = Array.from({ length: n }, (_, i) => ({
      inputs: { id: String(i), q: `what is ${i}?` },
      reference: `The answer is ${i}.`,
    }));
    await createDatasetVersion(stores, { name: "bench", examples });
    const config = parseLlmConfig({
      routes: { qa: { upstream: { url: "http://upstream.invalid/v1", model: "m" } } },
      prices: { m: { inputPer1M: 1, outputPer1M: 2 } },
    });
    const llm = startLlm(stores, config, { fetch: fakeFetch });
    const t0 = performance.now();
    const result = await runEvaluation(
      {
        ...stores,
        gateway: llm.services.gateway!,
        prices: config.prices,
        routes: ["qa"],
      },
      {
        dataset: { name: "bench", ref: "1" },
        prompt: { name: "qa", ref: "1" },
        route: "qa",
        evaluators: [
          { kind: "exact_match", name: "exact_match", options: {} },
          { kind: "regex", name: "regex", options: { pattern: "^The answer is \\d+\\.$" } },
          { kind: "llm_judge", name: "judge", options: { prompt: "grader@1", route: "qa" } },
        ],
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    llm.close();
    const rate = n / seconds;
    const right = result.metrics["exact_match/pass_rate"] === 1 && result.metrics["judge/pass_rate"] === 1;
    console.log(
      `LLM evaluation (SQLite; 2 gateway calls, 3 evaluators per example): ${n} examples in ${seconds.toFixed(2)} s → ${Math.round(rate)} examples/s (target ≥ ${TARGET}) ${rate >= TARGET ? "OK" : "BELOW TARGET"}; scores ${right ? "ok" : "WRONG"}`,
    );
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
