import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { parseLlmConfig } from "../../src/llm/index.js";
import { openStores } from "../../src/open-stores.js";
import { startLlm, type RunningLlm } from "../../src/server/llm-wiring.js";
import { startServer, type RunningServer } from "../../src/server/start.js";
import { startFakeUpstream, type FakeUpstream } from "./fake-openai-upstream.js";

describe("the LLM gateway with auth on", () => {
  let upstream: FakeUpstream;
  let dir: string;
  let stores: ReturnType<typeof openStores>;
  let llm: RunningLlm;
  let server: RunningServer;
  const tokens: Record<string, string> = {};
  const openai = (role: string) =>
    new OpenAI({ baseURL: `${server.url}/api/keel/llm/chat/v1`, apiKey: tokens[role] ?? "", maxRetries: 0 });

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    dir = mkdtempSync(path.join(tmpdir(), "keel-llm-auth-"));
    const config = loadConfig({ flags: { dataDir: dir, port: 0, logLevel: "silent", authEnabled: true }, env: {} });
    stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
    await stores.migrate();
    llm = startLlm(stores, parseLlmConfig({ routes: { chat: { upstream: { url: upstream.url, model: "m" } } } }, {}));
    server = await startServer({ config, stores, llm: llm.services });
    for (const role of ["reader", "predictor"] as const) {
      tokens[role] = (await stores.tokens.create({ name: `${role}-token`, role })).token;
    }
  });
  afterAll(async () => {
    await server.close();
    llm.close();
    await stores.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers a predictor token's chat and embeddings calls and refuses a reader's", async () => {
    const messages = [{ role: "user" as const, content: "hello there" }];
    const done = await openai("predictor").chat.completions.create({ model: "m", messages });
    expect(done.choices[0]?.message.role).toBe("assistant");
    await expect(openai("reader").chat.completions.create({ model: "m", messages })).rejects.toMatchObject({
      status: 403,
    });
    await expect(openai("reader").embeddings.create({ model: "m", input: "x" })).rejects.toMatchObject({ status: 403 });
  });
});
