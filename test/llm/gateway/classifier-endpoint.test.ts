import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { createGateway, parseLlmConfig } from "../../../src/llm/index.js";
import { openStores } from "../../../src/open-stores.js";
import { rejected } from "../../keel-error.js";
import { startFakeUpstream, type FakeUpstream } from "../fake-openai-upstream.js";

/** A toxicity model behind Hugging Face's text-classification answer shape: "idiot" scores 0.97. */
function startClassifier(): Promise<{ server: Server; url: string; inputs: unknown[] }> {
  const inputs: unknown[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const { inputs: text } = JSON.parse(body) as { inputs: string };
      inputs.push(JSON.parse(body));
      if (text.includes("crash")) return void res.writeHead(503).end("down");
      const toxic = text.includes("idiot") ? 0.97 : 0.02;
      const answer = [
        [
          { label: "toxic", score: toxic },
          { label: "neutral", score: 1 - toxic },
        ],
      ];
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(req.url === "/flat" ? answer[0] : answer));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, inputs }),
    ),
  );
}

describe("a classifier guardrail named in the LLM config with its endpoint", () => {
  let classifier: Awaited<ReturnType<typeof startClassifier>>;
  let upstream: FakeUpstream;
  let dir: string;
  let stores: ReturnType<typeof openStores>;

  beforeAll(async () => {
    classifier = await startClassifier();
    upstream = await startFakeUpstream();
    dir = mkdtempSync(path.join(tmpdir(), "keel-classifier-"));
    const config = loadConfig({ flags: { dataDir: dir }, env: {} });
    stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
    await stores.migrate();
  });
  afterAll(async () => {
    await stores.close();
    await upstream.close();
    await new Promise((r) => classifier.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const gatewayWith = (classifierConfig: Record<string, unknown>) =>
    createGateway({
      config: parseLlmConfig(
        {
          classifiers: { toxicity: classifierConfig },
          routes: {
            support: {
              upstream: { url: upstream.url, model: "m" },
              guardrails: {
                input: { checks: [{ kind: "classifier", classifier: "toxicity", threshold: 0.8, action: "block" }] },
              },
            },
          },
        },
        { TOX_KEY: "k-1" },
      ),
      registry: stores.registry,
      traces: stores.traces,
    });
  const ask = (g: ReturnType<typeof gatewayWith>, content: string) =>
    g.chatCompletions({ route: "support", body: { messages: [{ role: "user", content }] } });

  it("blocks what the endpoint scores at or above the check's threshold, and lets the rest through", async () => {
    const g = gatewayWith({ url: `${classifier.url}/nested`, label: "toxic", apiKeyEnv: "TOX_KEY" });
    const blocked = await ask(g, "you idiot, refund me");
    expect(blocked).toMatchObject({ status: 400, json: { error: { code: "content_filter" } } });
    expect(classifier.inputs.at(-1)).toEqual({ inputs: "you idiot, refund me" });
    const calls = upstream.bodies.length;
    const fine = await ask(g, "please refund me");
    expect(fine.status).toBe(200);
    expect(upstream.bodies.length).toBe(calls + 1);
    const flat = gatewayWith({ url: `${classifier.url}/flat`, label: "toxic" });
    expect((await ask(flat, "idiot")).status).toBe(400);
  });

  it("fails the call, never passing text unchecked, when the endpoint is down or answers no such label", async () => {
    const calls = upstream.bodies.length;
    const down = await ask(gatewayWith({ url: classifier.url, label: "toxic" }), "crash please");
    expect(down).toMatchObject({ status: 502, json: { error: { code: "classifier_unavailable" } } });
    expect(JSON.stringify(down)).toContain("classifier toxicity answered HTTP 503");
    const noLabel = await ask(gatewayWith({ url: classifier.url, label: "insult" }), "hello");
    expect(JSON.stringify(noLabel)).toContain('answered no label \\"insult\\" (labels: toxic, neutral)');
    const several = await ask(gatewayWith({ url: classifier.url }), "hello");
    expect(JSON.stringify(several)).toContain("set classifiers.toxicity.label");
    expect(upstream.bodies.length).toBe(calls);
  });

  it("refuses a bad classifier entry naming the field", async () => {
    const bad = async (c: unknown) =>
      (await rejected(Promise.resolve().then(() => parseLlmConfig({ classifiers: { toxicity: c } })))).message;
    expect(await bad({ url: "ftp://x" })).toBe('classifiers.toxicity.url = "ftp://x": must be an http(s) URL');
    expect(await bad({ url: "http://x", model: "m" })).toContain("classifiers.toxicity.model");
    expect(await bad({ url: "http://x", apiKeyEnv: "NOPE" })).toContain(
      "names an environment variable that is not set",
    );
  });
});
