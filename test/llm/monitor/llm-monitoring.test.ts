import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient, KeelLlmClient } from "../../../src/client/index.js";
import { loadConfig } from "../../../src/config.js";
import { createPromptVersion, parseLlmConfig, type LlmConfig } from "../../../src/llm/index.js";
import { parseMonitoringConfig } from "../../../src/monitoring/index.js";
import { openStores } from "../../../src/open-stores.js";
import { startLlm, type RunningLlm } from "../../../src/server/llm-wiring.js";
import { startMonitoring, type RunningMonitoring } from "../../../src/server/monitoring-wiring.js";
import { startServer, type RunningServer } from "../../../src/server/start.js";
import { answerTo, FAKE_JUDGE_MODEL, startFakeUpstream, words, type FakeUpstream } from "../fake-openai-upstream.js";

const MODEL = "support-model-v1";
const HOUR = 3_600_000;
/** 2026-01-01T10:20Z: calls land in the 10:00–11:00 window. */
const T0 = 1_767_262_800_000 + 20 * 60_000;

interface Hook {
  event: string;
  alert: { rule_id: string; tier: string; model_name: string; value: number };
}

describe("monitoring of an LLM route, through the gateway, the judge, the scheduler and the alert sinks", () => {
  let upstream: FakeUpstream;
  let hookServer: Server;
  const hooks: Hook[] = [];
  let dir: string;
  let stores: ReturnType<typeof openStores>;
  let llm: RunningLlm;
  let monitoring: RunningMonitoring;
  let server: RunningServer;
  let keel: KeelClient;
  let now = T0;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    hookServer = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        hooks.push(JSON.parse(body) as Hook);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
    const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    dir = mkdtempSync(path.join(tmpdir(), "keel-llm-monitor-"));
    const config = loadConfig({ flags: { dataDir: dir, port: 0, host: "127.0.0.1", logLevel: "silent" }, env: {} });
    stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
    await stores.migrate();
    await createPromptVersion(stores.registry, {
      name: "support",
      template: [{ role: "system", content: "You are the support assistant. Be brief." }],
      model: MODEL,
      commitMessage: "first",
    });
    await createPromptVersion(stores.registry, {
      name: "groundedness",
      template: [
        { role: "system", content: 'Is the answer grounded? Reply {"score": 0..1, "reason": "..."}.' },
        { role: "user", content: "Question: {{input}}\nAnswer: {{output}}" },
      ],
      model: FAKE_JUDGE_MODEL,
      commitMessage: "rubric",
    });
    const llmConfig: LlmConfig = parseLlmConfig({
      routes: {
        support: {
          upstream: { url: upstream.url },
          prompt: "support@1",
          guardrails: { output: { checks: [{ kind: "pii", action: "redact", types: ["email"] }] } },
          monitor: {
            windows: ["hourly"],
            judge: { route: "judge", rubric: "groundedness@1", sampleRate: 1, hallucinationBelow: 0.5 },
            review: { sampleRate: 0, belowScore: 0.5 },
          },
        },
        judge: { upstream: { url: upstream.url } },
      },
      prices: { [MODEL]: { inputPer1M: 1000, outputPer1M: 2000 } },
    });
    const clock = () => now;
    llm = startLlm(stores, llmConfig, { clock });
    const gateway = llm.services.gateway;
    if (gateway === undefined) throw new Error("no gateway");
    monitoring = startMonitoring(stores, {
      config: parseMonitoringConfig({
        champions: false,
        delayMinutes: 5,
        rules: [
          {
            id: "hallucination_page",
            tier: "page",
            kind: "llm",
            metric: "hallucination_rate",
            condition: "above",
            threshold: 0.1,
          },
          { id: "pii_leak_page", tier: "page", kind: "llm", metric: "pii_leak_rate", condition: "above", threshold: 0 },
          {
            id: "spend_notify",
            tier: "notify",
            kind: "llm",
            metric: "cost_total",
            condition: "above",
            threshold: 0.01,
          },
          {
            id: "refusals_notify",
            tier: "notify",
            kind: "llm",
            metric: "refusal_rate",
            condition: "above",
            threshold: 0.5,
          },
        ],
        sinks: [{ type: "webhook", url: hookUrl, retries: 0 }],
      }),
      llm: { gateway, config: llmConfig },
      clock,
      // the test runs the scheduler's due windows itself
      timers: { setTimeout: () => undefined, clearTimeout: () => undefined },
    });
    server = await startServer({ config, stores, monitoring: monitoring.services, llm: llm.services, clock });
    keel = new KeelClient({ baseUrl: server.url });
  });
  afterAll(async () => {
    await server.close();
    await monitoring.stop();
    llm.close();
    await stores.close();
    await upstream.close();
    await new Promise((r) => hookServer.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the route's hourly window on schedule: figures, judge verdicts, review items, alerts by tier", async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/api/keel/llm/support/v1`, apiKey: "unused", maxRetries: 0 });
    const questions = [
      "Where is my refund?",
      "Is your office on the moon?",
      "[refuse] tell me a secret",
      "Can I change my plan?",
    ];
    const answers: string[] = [];
    for (const q of questions) {
      const r = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: q }] });
      answers.push(r.choices[0]?.message.content ?? "");
      now += 60_000;
    }
    // the client never saw the e-mail address the model wrote
    expect(answers.filter((a) => a.includes("[EMAIL]"))).toHaveLength(3);

    now = T0 - 20 * 60_000 + HOUR + 6 * 60_000; // 11:06, past the window's end and the 5-minute delay
    const runs = await monitoring.scheduler.runDue();
    const run = runs.find((r) => r.llm !== undefined);
    expect(run?.model).toBe("support");
    expect(run?.llm?.requests).toBe(4);

    const pooled = Object.fromEntries(
      (run?.llm?.observations ?? [])
        .filter((o) => o.modelVersion === undefined && o.feature === undefined)
        .map((o) => [o.metric, o.value]),
    );
    expect(pooled).toMatchObject({
      request_count: 4,
      error_rate: 0,
      pii_leak_rate: 0.75, // three answers carried the address before redaction
      refusal_rate: 0.25,
      judged_count: 4,
      hallucination_rate: 0.25,
    });
    // the support calls' token counts, priced as configured, from the upstream's bodies
    const support = upstream.bodies.filter((b) => b.model === MODEL);
    expect(support).toHaveLength(4);
    const tokens = support.map((b) => {
      const messages = b.messages as { role: string; content: string }[];
      return [messages.reduce((n, m) => n + words(m.content), 0), words(answerTo(messages, b.model))] as const;
    });
    const spend = tokens.reduce((s, [i, o]) => s + (i * 1000 + o * 2000) / 1e6, 0);
    const observations = await keel.getObservations({ model: "support", kind: "llm", metric: "cost_total" });
    expect(observations.map((o) => o.model_version)).toEqual([null, "support@1"]);
    for (const o of observations) expect(o.value).toBeCloseTo(spend, 12);

    // the judge's verdicts are kept as the traces' feedback, from keel-judge
    const llmClient = new KeelLlmClient(keel);
    const traces = (await llmClient.searchTraces({ route: "support" })).traces;
    const verdicts = await Promise.all(traces.map(async (t) => (await llmClient.getTrace(t.trace_id)).feedback));
    expect(verdicts.map((f) => f.map((x) => [x.user, x.score])).sort()).toEqual(
      [[["keel-judge", 0.1]], [["keel-judge", 0.9]], [["keel-judge", 0.9]], [["keel-judge", 0.9]]].sort(),
    );

    // the low-scoring answer waits for a reviewer with its input, output, score and reason
    const queued = await stores.reviews.list({ endpoint: "llm:support" });
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({
      modelName: "support",
      modelVersion: "support@1",
      score: 0.1,
      modelDecision: "fail",
      reasons: ["judge_score_below: 0.5"],
      inputs: {
        input: "Is your office on the moon?",
        output: "You asked: Is your office on the moon? Write to [EMAIL] for more.",
        judge_score: 0.1,
        judge_reason: "claims a moon office",
      },
    });

    // alerts fired through the engine and reached the webhook sink, by tier
    // (refusals at 0.25 stay under their 0.5 bound)
    expect(spend).toBeGreaterThan(0.01);
    const fired = hooks.filter((h) => h.event === "alert.fired").map((h) => [h.alert.rule_id, h.alert.tier]);
    expect(fired.sort()).toEqual([
      ["hallucination_page", "page"],
      ["pii_leak_page", "page"],
      ["spend_notify", "notify"],
    ]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /keel_monitoring_llm\{model="support",model_version="",endpoint="",feature="",segment="",metric="pii_leak_rate"\} 0\.75/,
    );
  });

  it("re-runs a window on demand without judging twice, and refuses a route without monitor settings", async () => {
    const judgeCalls = upstream.bodies.filter((b) => b.model === FAKE_JUDGE_MODEL).length;
    const client = new KeelLlmClient(keel);
    const run = await client.runLlmMonitor({ route: "support", from: T0 - 20 * 60_000, to: T0 + 40 * 60_000 });
    expect(run).toMatchObject({ route: "support", requests: 4, judged: 0, judge_errors: 0, queued_for_review: 1 });
    expect(upstream.bodies.filter((b) => b.model === FAKE_JUDGE_MODEL)).toHaveLength(judgeCalls);
    expect(run.alerts_fired).toEqual([]); // still open: deduplicated
    const e = await client.runLlmMonitor({ route: "judge", from: 0, to: 1 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ status: 400 });
    expect((e as Error).message).toContain('route = "judge"');
  });

  it("runs a window on demand for writers only when auth is on", async () => {
    const config = loadConfig({
      flags: { dataDir: dir, port: 0, host: "127.0.0.1", logLevel: "silent", authEnabled: true },
      env: {},
    });
    const guarded = await startServer({ config, stores, monitoring: monitoring.services, llm: llm.services });
    try {
      const as = async (name: string, role: "reader" | "writer") =>
        new KeelLlmClient(
          new KeelClient({ baseUrl: guarded.url, token: (await stores.tokens.create({ name, role })).token }),
        );
      const window = { route: "support", from: T0 - 20 * 60_000, to: T0 + 40 * 60_000 };
      const refused = await (await as("viewer", "reader")).runLlmMonitor(window).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 403 });
      expect((await (await as("ci", "writer")).runLlmMonitor(window)).requests).toBe(4);
    } finally {
      await guarded.close();
    }
  });
});
