import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient, KeelLlmClient } from "../../src/client/index.js";
import type { CliContext } from "../../src/cli/context.js";
import { startKeelServer, type KeelServer } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { createPromptVersion } from "../../src/llm/index.js";
import { openStores } from "../../src/open-stores.js";
import { FAKE_JUDGE_MODEL, startFakeUpstream, type FakeUpstream } from "../llm/fake-openai-upstream.js";

describe("keel server with an LLM config whose route has monitor settings", () => {
  let dir: string;
  let upstream: FakeUpstream;
  let stores: ReturnType<typeof openStores>;
  let keel: KeelServer;
  const out: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-serve-llm-"));
    upstream = await startFakeUpstream();
    writeFileSync(
      path.join(dir, "llm.yaml"),
      [
        "routes:",
        "  support:",
        `    upstream: { url: "${upstream.url}", model: m }`,
        "    monitor:",
        "      windows: [hourly]",
        "      judge: { route: judge, rubric: groundedness@1, sampleRate: 1 }",
        "      review: { belowScore: 0.5 }",
        "  judge:",
        `    upstream: { url: "${upstream.url}" }`,
        "",
      ].join("\n"),
    );
    const config = loadConfig({ flags: { port: 0, dataDir: path.join(dir, "data"), logLevel: "silent" }, env: {} });
    stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
    await stores.migrate();
    await createPromptVersion(stores.registry, {
      name: "groundedness",
      template: [{ role: "user", content: "Question: {{input}}\nAnswer: {{output}}" }],
      model: FAKE_JUDGE_MODEL,
      commitMessage: "rubric",
    });
    const ctx: CliContext = { env: {}, cwd: dir, out: (t) => out.push(t), err: (t) => out.push(t) };
    keel = await startKeelServer(stores, config, ctx, { llmConfig: "llm.yaml" });
  });
  afterAll(async () => {
    await keel.close();
    await stores.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("judges the route's calls through the judge route and queues the low scores", async () => {
    const url = keel.server.url;
    for (const content of ["Where is my refund?", "Is your office on the moon?"]) {
      const r = await fetch(`${url}/api/keel/llm/support/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content }] }),
      });
      expect(r.status).toBe(200);
    }
    const now = Date.now();
    const run = await new KeelLlmClient(new KeelClient({ baseUrl: url })).runLlmMonitor({
      route: "support",
      from: now - 3_600_000,
      to: now + 1000,
    });
    expect(run).toMatchObject({ requests: 2, judged: 2, judge_errors: 0, queued_for_review: 1 });
    expect(run.observations.find((o) => o.metric === "hallucination_rate")?.value).toBe(0.5);
    // the default rules: the moon answer pages, and so does the e-mail address the model wrote
    expect(run.alerts_fired.map((a) => a.rule_id).sort()).toEqual(["llm_hallucination_page", "llm_pii_leak_page"]);
    expect(out.some((line) => line.includes("alert fired"))).toBe(true);
  });
});
