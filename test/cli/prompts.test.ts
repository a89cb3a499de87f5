import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keelInProcess, keelServer } from "./helpers.js";

describe("keel prompts on the local store", () => {
  let dir: string;
  const run = (args: string[]) => keelInProcess(args, { env: { KEEL_DATA_DIR: dir }, cwd: dir });

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-cli-prompts-"));
    writeFileSync(
      path.join(dir, "support.yaml"),
      "- role: system\n  content: You help customers of {{company}}.\n- role: user\n  content: '{{question}}'\n",
    );
    writeFileSync(path.join(dir, "llm.yaml"), "prompts:\n  promotionGates: { production: eval }\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("creates, shows, diffs, and promotes only past the configured gate", async () => {
    const v1 = await run([
      "prompts",
      "create",
      "support",
      "--template-file",
      "support.yaml",
      "-m",
      "first",
      "--model",
      "m-1",
      "--param",
      "temperature=0.2",
    ]);
    expect([v1.code, v1.stdout.trim()]).toEqual([0, "created support v1 (variables: company, question)"]);
    const v2 = await run(["prompts", "create", "support", "--text", "Answer {{question}}", "-m", "plain"]);
    expect(v2.code).toBe(0);

    const show = await run(["--json", "prompts", "show", "support@1"]);
    expect(JSON.parse(show.stdout)).toMatchObject({
      version: "1",
      type: "chat",
      model: "m-1",
      parameters: { temperature: 0.2 },
    });
    const latest = await run(["prompts", "show", "support"]);
    expect(latest.stdout).toContain("support v2: plain");

    const diff = await run(["prompts", "diff", "support", "1", "2"]);
    expect(diff.stdout.split("\n")).toContain("+Answer {{question}}");
    expect(diff.stdout.split("\n")).toContain("-model: m-1");

    const gated = await run([
      "prompts",
      "promote",
      "support",
      "2",
      "--to",
      "production",
      "--reason",
      "go",
      "--llm-config",
      "llm.yaml",
    ]);
    expect(gated.code).toBe(1);
    expect(gated.stderr.trim()).toBe(
      'error: prompt "support" version 2 cannot become "production": gate "eval" has no result; it must be "passed"',
    );
    const staging = await run([
      "prompts",
      "promote",
      "support",
      "2",
      "--to",
      "staging",
      "--reason",
      "try",
      "--approver",
      "ana",
      "--llm-config",
      "llm.yaml",
    ]);
    expect(staging.stdout.trim()).toBe("promoted support: staging -> v2 (was not set) by ana: try");
    const list = await run(["prompts", "list"]);
    expect(list.stdout).toContain("staging=v2");

    const bad = await run(["prompts", "create", "support", "-m", "x"]);
    expect(bad.code).toBe(2);
  });

  it("`keel server --llm-config` serves the gateway and refuses a config whose key variable is unset", async () => {
    const config = path.join(dir, "gateway.yaml");
    writeFileSync(
      config,
      "routes:\n  bot:\n    upstream: { url: http://127.0.0.1:9/v1, apiKeyEnv: BOT_KEY, timeoutMs: 500 }\n    retries: 0\n",
    );
    const server = await keelServer(["--port", "0", "--llm-config", config], { KEEL_DATA_DIR: dir, BOT_KEY: "k" });
    try {
      const res = await fetch(`${server.url}/api/keel/llm/bot/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
      });
      // Nothing listens on the upstream's port: an OpenAI-shaped 502 after the one attempt.
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_unavailable");
      expect(await (await fetch(`${server.url}/metrics`)).text()).toContain(
        'keel_llm_requests_total{route="bot",operation="chat",outcome="error"} 1',
      );
    } finally {
      server.child.kill("SIGTERM");
    }
    const refused = await keelServer(["--port", "0", "--llm-config", config], { KEEL_DATA_DIR: dir }).catch(
      (e: unknown) => e,
    );
    expect(String(refused)).toContain(
      'routes.bot.upstream.apiKeyEnv = "BOT_KEY": names an environment variable that is not set',
    );
  });
});
