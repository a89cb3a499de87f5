import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient, KeelLlmClient, type EvalRunJson } from "../../../src/client/index.js";
import { loadConfig } from "../../../src/config.js";
import { artifactStorePath } from "../../../src/tracking/index.js";
import { parseLlmConfig } from "../../../src/llm/index.js";
import { openStores } from "../../../src/open-stores.js";
import { startLlm, type RunningLlm } from "../../../src/server/llm-wiring.js";
import { startServer, type RunningServer } from "../../../src/server/start.js";
import { rejected } from "../../keel-error.js";
import { GRADER_PREFIX, answerTo, startFakeUpstream, words, type FakeUpstream } from "../fake-openai-upstream.js";

const PRICES = {
  "qa-model": { inputPer1M: 100, outputPer1M: 300 },
  "judge-model": { inputPer1M: 10, outputPer1M: 30 },
};
const kappaFixture = (
  JSON.parse(readFileSync(new URL("../../fixtures/llm/paired_tests.json", import.meta.url), "utf8")) as {
    kappa: { name: string; kappa: number; agreement: number }[];
  }
).kappa.find((k) => k.name === "http calibration")!;

/** Capitals with a hint: the hint is right for four of five (the last hint names the wrong city). */
const CAPITALS = [
  ["France", "Paris", "Paris"],
  ["Italy", "Rome", "Rome"],
  ["Spain", "Madrid", "Madrid"],
  ["Japan", "Tokyo", "Tokyo"],
  ["Canada", "Ottawa", "Toronto"],
].map(([country, city, hint], i) => ({
  id: `c${i + 1}`,
  inputs: { question: `What is the capital of ${country}?`, hint: hint! },
  reference: city!,
}));

const EVALUATORS = [
  { kind: "contains", name: "has_city" },
  { kind: "llm_judge", name: "judge", prompt: "grader@1", route: "judge", threshold: 0.5 },
  { kind: "regex", name: "polite", pattern: "help\\.desk@" },
];

describe("LLM evaluation over HTTP, through the gateway, with auth on", () => {
  let upstream: FakeUpstream;
  let dir: string;
  let stores: ReturnType<typeof openStores>;
  let llm: RunningLlm;
  let server: RunningServer;
  const tokens: Record<string, string> = {};
  const as = (role: string) => new KeelLlmClient(new KeelClient({ baseUrl: server.url, token: tokens[role]! }));
  const runs: Record<string, EvalRunJson> = {};

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    dir = mkdtempSync(path.join(tmpdir(), "keel-llm-eval-"));
    const config = loadConfig({
      flags: { dataDir: dir, port: 0, host: "127.0.0.1", logLevel: "silent", authEnabled: true },
      env: {},
    });
    stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
    await stores.migrate();
    const llmConfig = parseLlmConfig({
      routes: {
        qa: { upstream: { url: upstream.url, model: "qa-model" } },
        judge: { upstream: { url: upstream.url, model: "judge-model" } },
      },
      prices: PRICES,
      prompts: {
        promotionGates: {
          production: {
            gate: "eval",
            dataset: "capitals",
            thresholds: { "judge/pass_rate": { min: 0.75 }, errors: { max: 0 } },
          },
        },
      },
    });
    llm = startLlm(stores, llmConfig);
    server = await startServer({ config, stores, llm: llm.services });
    for (const role of ["reader", "writer", "approver"] as const) {
      tokens[role] = (await stores.tokens.create({ name: `${role}-token`, role })).token;
    }
    const writer = as("writer");
    await writer.createPromptVersion({
      name: "qa",
      template: [{ role: "user", content: "{{question}}" }],
      commit_message: "bare",
    });
    await writer.createPromptVersion({
      name: "qa",
      template: [{ role: "user", content: "{{question}} Hint: {{hint}}" }],
      commit_message: "with the hint",
    });
    await writer.createPromptVersion({
      name: "qa",
      template: "Answer {{question}}",
      commit_message: "never evaluated",
    });
    await writer.createPromptVersion({
      name: "grader",
      template: [
        { role: "system", content: `${GRADER_PREFIX} Reply with JSON {"score": 0 or 1, "reason": "..."}.` },
        { role: "user", content: "Question: {{input}}\nAnswer: {{output}}\nReference: {{reference}}" },
      ],
      model: "judge-model",
      commit_message: "binary grader",
    });
  });
  afterAll(async () => {
    await server.close();
    llm.close();
    await stores.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("versions datasets, content-hashed, refused to readers and out of the model search", async () => {
    expect((await rejected(as("reader").createDatasetVersion({ name: "capitals", examples: CAPITALS }))).status).toBe(
      403,
    );
    const v1 = await as("writer").createDatasetVersion({
      name: "capitals",
      examples: CAPITALS,
      description: "five capitals",
    });
    expect(v1).toMatchObject({ name: "capitals", version: "1", example_count: 5, description: "five capitals" });
    const stored = await stores.artifacts.getBlob(v1.digest);
    const lines = new TextDecoder().decode(stored).trim().split("\n");
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(CAPITALS);
    const again = await as("writer").createDatasetVersion({ name: "capitals", examples: CAPITALS });
    expect([again.version, again.digest]).toEqual(["2", v1.digest]);

    const reader = as("reader");
    expect((await reader.listDatasets()).datasets.map((d) => d.name)).toEqual(["capitals"]);
    expect((await reader.getDataset("capitals")).versions.map((v) => v.version)).toEqual(["2", "1"]);
    expect((await reader.getDatasetExamples("capitals", "1")).examples).toEqual(CAPITALS);
    const models = await new KeelClient({ baseUrl: server.url, token: tokens.reader! }).request<{
      registered_models?: unknown[];
    }>("GET", "/api/2.0/mlflow/registered-models/search");
    expect(models.registered_models ?? []).toEqual([]);

    const bad = await rejected(
      as("writer").createDatasetVersion({ name: "capitals", examples: [{ inputs: "France" } as never] }),
    );
    expect([bad.status, bad.message]).toEqual([
      400,
      'examples[0].inputs = "France": must be an object of prompt variables',
    ]);
  });

  it("runs each prompt version over the dataset, scores it, and logs a tracking run with its evidence", async () => {
    const before = upstream.bodies.length;
    runs.v1 = await as("writer").runEvaluation({
      dataset: "capitals@1",
      prompt: "qa@1",
      route: "qa",
      evaluators: EVALUATORS,
    });
    runs.v2 = await as("writer").runEvaluation({
      dataset: "capitals@1",
      prompt: "qa@2",
      route: "qa",
      evaluators: EVALUATORS,
    });
    // Five model calls and five judge calls per run.
    expect(upstream.bodies.length - before).toBe(20);

    expect(runs.v1.metrics).toMatchObject({
      examples: 5,
      errors: 0,
      "has_city/pass_rate": 0,
      "judge/pass_rate": 0,
      "polite/pass_rate": 1,
    });
    expect(runs.v2.metrics).toMatchObject({
      "has_city/pass_rate": 0.8,
      "judge/mean": 0.8,
      "judge/pass_rate": 0.8,
      pass_rate: 0.8,
    });
    const canada = runs.v2.examples.find((e) => e.id === "c5")!;
    expect(canada.scores.judge).toMatchObject({ score: 0, passed: false, reason: "the reference is missing" });
    // Each result links to the gateway's traces of the model call and of the judge call.
    const modelTrace = await as("reader").getTrace(canada.trace_id!);
    expect(modelTrace.trace).toMatchObject({ route: "qa", prompt_name: "qa", prompt_version: "2" });
    const judgeTrace = await as("reader").getTrace((canada.scores.judge as { trace_id: string }).trace_id);
    expect(judgeTrace.trace).toMatchObject({ route: "judge" });

    // Tokens and cost from what the upstream was sent and answered (it counts words).
    const sent = upstream.bodies.slice(before + 10) as {
      model: string;
      messages: { role: string; content: string }[];
    }[];
    const modelCalls = sent.filter((b) => b.model === "qa-model");
    const inTokens = modelCalls.reduce((n, b) => n + b.messages.reduce((m, x) => m + words(x.content), 0), 0);
    const outTokens = modelCalls.reduce((n, b) => n + words(answerTo(b.messages)), 0);
    expect(runs.v2.metrics["tokens.input"]).toBe(inTokens);
    expect(runs.v2.metrics["tokens.output"]).toBe(outTokens);
    expect(runs.v2.metrics.cost_usd).toBeCloseTo((inTokens * 100 + outTokens * 300) / 1e6, 12);
    expect(modelCalls.map((b) => b.messages)).toContainEqual([
      { role: "user", content: "What is the capital of France? Hint: Paris" },
    ]);

    const run = await stores.tracking.getRun(runs.v2.run_id);
    expect(run.info.status).toBe("FINISHED");
    expect(
      Object.fromEntries(run.data.tags.filter((t) => t.key.startsWith("keel.eval.")).map((t) => [t.key, t.value])),
    ).toMatchObject({
      "keel.eval.prompt_name": "qa",
      "keel.eval.prompt_version": "2",
      "keel.eval.dataset_name": "capitals",
      "keel.eval.dataset_version": "1",
      "keel.eval.route": "qa",
    });
    expect(run.inputs.datasetInputs[0]?.dataset).toMatchObject({ name: "capitals", sourceType: "keel-dataset" });
    const artifact = await stores.artifacts.getFile(`${artifactStorePath(run.info.artifactUri)}/eval_results.jsonl`);
    const results = new TextDecoder()
      .decode(artifact)
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string });
    expect(results.map((r) => r.id)).toEqual(["c1", "c2", "c3", "c4", "c5"]);

    // The judge's calls went through the gateway: traced and priced on the judge route.
    const judged = await as("reader").searchTraces({ route: "judge" });
    expect(judged.traces).toHaveLength(10);
    expect(judged.traces.every((t) => (t.cost ?? 0) > 0)).toBe(true);
  });

  it("records a malformed judge answer as an error of that example, never a score", async () => {
    await as("writer").createDatasetVersion({
      name: "tricky",
      examples: [
        { id: "t1", inputs: { question: "Capital of Peru?", hint: "Lima" }, reference: "Lima" },
        { id: "t2", inputs: { question: "Capital of Chile?", hint: "Santiago" }, reference: "MALFORMED" },
      ],
    });
    const r = await as("writer").runEvaluation({
      dataset: "tricky",
      prompt: "qa@2",
      route: "qa",
      evaluators: EVALUATORS,
    });
    expect(r.examples[1]!.scores.judge).toEqual({
      error: `the judge's answer is not JSON: "I would rate this answer highly."`,
    });
    expect(r.metrics).toMatchObject({ "judge/errors": 1, "judge/mean": 1, "judge/pass_rate": 1, pass_rate: 0.5 });

    // An upstream that stays down fails that example's model call: counted in `errors`, traced, not scored.
    await as("writer").createDatasetVersion({
      name: "one",
      examples: [{ inputs: { question: "Capital of Peru?", hint: "Lima" } }],
    });
    upstream.failNext(2);
    const down = await as("writer").runEvaluation({
      dataset: "one",
      prompt: "qa@2",
      route: "qa",
      evaluators: ["contains"],
    });
    expect(down.metrics).toMatchObject({ examples: 1, errors: 1, "contains/errors": 0, pass_rate: 0 });
    expect(down.examples[0]).toMatchObject({
      error: "the model call failed with HTTP 502: upstream failed after 2 attempts: HTTP 503",
      scores: {},
    });
    expect((await as("reader").getTrace(down.examples[0]!.trace_id!)).trace).toMatchObject({ route: "qa" });
  });

  it("refuses a bad evaluation request naming the field, before calling anything", async () => {
    const calls = upstream.bodies.length;
    const cases: [object, string][] = [
      [{ evaluators: ["fuzzy"] }, 'evaluators[0].kind = "fuzzy": must be one of'],
      [{ route: "nope" }, 'route = "nope": must be a gateway route; configured: qa, judge'],
      [{ prompt: "qa" }, 'prompt = "qa": must be NAME@VERSION or NAME@ALIAS'],
      [
        { evaluators: [{ kind: "llm_judge", prompt: "grader@1" }] },
        "evaluators[0].route = null: an llm_judge needs a route",
      ],
    ];
    for (const [change, message] of cases) {
      const e = await rejected(
        as("writer").runEvaluation({
          dataset: "capitals@1",
          prompt: "qa@2",
          route: "qa",
          evaluators: EVALUATORS,
          ...change,
        }),
      );
      expect(e.status).toBe(400);
      expect(e.message).toContain(message);
    }
    expect(
      (
        await rejected(
          as("reader").runEvaluation({ dataset: "capitals", prompt: "qa@2", route: "qa", evaluators: ["contains"] }),
        )
      ).status,
    ).toBe(403);
    expect(upstream.bodies.length).toBe(calls);
  });

  it("compares two prompt versions example by example", async () => {
    const c = await as("reader").compareEvaluations({ run_a: runs.v1!.run_id, run_b: runs.v2!.run_id });
    const hasCity = c.evaluators.find((e) => e.evaluator === "has_city")!;
    expect(hasCity).toMatchObject({ n: 5, pass_rate_a: 0, pass_rate_b: 0.8, b_only_passed: 4, a_only_passed: 0 });
    // Exact sign test: 4 wins, no losses, p = 2 · 0.5⁴; McNemar with continuity correction: (4 − 1)² / 4.
    expect(hasCity.sign_test.p_value).toBeCloseTo(2 * 0.5 ** 4, 12);
    expect(hasCity.mcnemar.statistic).toBeCloseTo(2.25, 12);
    const other = await as("writer").runEvaluation({
      dataset: "tricky",
      prompt: "qa@1",
      route: "qa",
      evaluators: ["contains"],
    });
    const e = await rejected(as("reader").compareEvaluations({ run_a: runs.v1!.run_id, run_b: other.run_id }));
    expect([e.status, e.message]).toEqual([400, expect.stringContaining("evaluated different data") as string]);
  });

  it("gates promotion to production on the evaluation and a calibrated judge, and audits the evidence", async () => {
    const promote = (role: string, version: string) =>
      as(role).promotePrompt("qa", { version, to: "production", reason: "release" });
    expect((await rejected(promote("writer", "2"))).status).toBe(403);

    const failed = await rejected(promote("approver", "1"));
    expect([failed.status, failed.code]).toEqual([400, "INVALID_STATE"]);
    expect(failed.message).toContain("judge/pass_rate = 0 < 0.75");
    const missing = await rejected(promote("approver", "3"));
    expect(missing.message).toContain("no evaluation of this version on dataset capitals");
    const uncalibrated = await rejected(promote("approver", "2"));
    expect(uncalibrated.message).toContain("judge judge (grader@1) is not calibrated; its scores cannot gate");

    // The judge is checked against people's labels: it misses the paraphrase, so it agrees on 4 of 5.
    const outputs = ["Paris is the capital", "It is Rome", "Lisbon", "The German capital", "Tokyo"];
    const refs = ["Paris", "Rome", "Madrid", "Berlin", "Tokyo"];
    const human = [1, 1, 0, 1, 1];
    await as("writer").createDatasetVersion({
      name: "grader-labels",
      examples: outputs.map((output, i) => ({
        inputs: { input: "capital?", output },
        reference: refs[i]!,
        human_label: human[i]!,
      })),
    });
    // A writer cannot mark the judge calibrated (or a gate passed) through MLflow's tag API.
    const forged = await rejected(
      new KeelClient({ baseUrl: server.url, token: tokens.writer! }).request(
        "POST",
        "/api/2.0/mlflow/model-versions/set-tag",
        {
          name: "grader",
          version: "1",
          key: "keel.judge.calibration",
          value: "passed",
        },
      ),
    );
    expect([forged.status, forged.message]).toEqual([
      403,
      "setting tag 'keel.judge.calibration' requires role approver; token 'writer-token' has role writer",
    ]);
    // Nor register a version that arrives with a gate result.
    const preloaded = await rejected(
      new KeelClient({ baseUrl: server.url, token: tokens.writer! }).request(
        "POST",
        "/api/2.0/mlflow/model-versions/create",
        {
          name: "qa",
          source: "prompt-template",
          tags: [{ key: "keel.gate.evaluation.capitals", value: "{}" }],
        },
      ),
    );
    expect(preloaded.status).toBe(403);
    const request = { judge: "grader@1", dataset: "grader-labels", route: "judge", min_kappa: 0.5 };
    expect((await rejected(as("writer").calibrateJudge(request))).status).toBe(403);
    const calibration = await as("approver").calibrateJudge(request);
    expect(calibration.passed).toBe(true);
    expect(calibration.kappa).toBeCloseTo(kappaFixture.kappa, 12);
    expect(calibration.agreement).toBeCloseTo(kappaFixture.agreement, 12);
    const strict = await as("approver").calibrateJudge({ ...request, min_kappa: 0.6 });
    expect(strict.passed).toBe(false);
    expect((await rejected(promote("approver", "2"))).message).toContain("calibration is failed");
    await as("approver").calibrateJudge(request);

    const move = await promote("approver", "2");
    expect(move).toMatchObject({ alias: "production", to_version: "2", actor: "approver-token" });
    expect(move.reason).toContain(`[gate eval: passed; run ${runs.v2!.run_id}; dataset capitals@1;`);
    expect(move.reason).toContain("judge/pass_rate = 0.8 >= 0.75; errors = 0 <= 0]");
    const audit = await stores.audit.list({ targetType: "registered_model", targetId: "qa" });
    const promotions = audit.filter((a) => a.action === "registered_model.promote");
    expect(promotions.map((a) => a.actor)).toEqual(["approver-token"]);
    expect(JSON.stringify(promotions[0])).toContain(`run ${runs.v2!.run_id}`);
  });
});
