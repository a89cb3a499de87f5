import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { runLlmWindow } from "../../src/llm/index.js";
import { openStores } from "../../src/open-stores.js";
import type { LlmSpan } from "../../src/store/index.js";
import { keelInProcess } from "./helpers.js";

const T0 = Date.parse("2026-01-01T10:00:00Z");

function span(n: number, over: Partial<LlmSpan>): LlmSpan {
  return {
    traceId: n.toString(16).padStart(32, "0"),
    spanId: n.toString(16).padStart(16, "0"),
    name: "chat m",
    startTime: T0 + n * 60_000,
    endTime: T0 + n * 60_000 + 100 * n,
    status: "ok",
    route: "support",
    promptName: "support",
    promptVersion: "1",
    guardrails: [],
    attributes: {},
    ...over,
  };
}

const output = (text: string) =>
  JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: text }], finish_reason: "stop" }]);

describe("keel traces and keel llm monitor on the local store", () => {
  let dir: string;
  const run = (args: string[]) => keelInProcess(args, { env: { KEEL_DATA_DIR: dir }, cwd: dir });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-cli-traces-"));
    const config = loadConfig({ flags: { dataDir: dir }, env: {} });
    const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
    await stores.migrate();
    await stores.traces.writeSpans([
      span(1, {
        userId: "ana",
        cost: 0.002,
        inputTokens: 30,
        outputTokens: 12,
        guardrails: ["pii"],
        attributes: {
          "gen_ai.input.messages": JSON.stringify([
            { role: "user", parts: [{ type: "text", content: "Where is my refund?" }] },
          ]),
          "gen_ai.output.messages": output("Write to [EMAIL]."),
          "keel.guardrails.output.pii_types": ["email"],
        },
      }),
      span(2, {
        userId: "bob",
        cost: 0.0005,
        attributes: { "gen_ai.output.messages": output("I'm unable to share that.") },
      }),
      span(3, { route: "other", userId: "ana" }),
    ]);
    await runLlmWindow(
      { traces: stores.traces, observations: stores.observations, reviews: stores.reviews },
      { route: "support", windows: ["hourly"] },
      { windowStart: T0, windowEnd: T0 + 3_600_000 },
    );
    await stores.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("searches by route, user, cost, latency and guardrail, newest first", async () => {
    const ids = async (...flags: string[]) => {
      const r = await run(["--json", "traces", "search", ...flags]);
      expect(r.stderr).toBe("");
      return (JSON.parse(r.stdout) as { traces: { trace_id: string }[] }).traces.map((t) =>
        Number.parseInt(t.trace_id, 16),
      );
    };
    expect(await ids()).toEqual([3, 2, 1]);
    expect(await ids("--route", "support")).toEqual([2, 1]);
    expect(await ids("--user", "ana", "--guardrail", "pii")).toEqual([1]);
    expect(await ids("--min-cost", "0.001")).toEqual([1]);
    expect(await ids("--min-latency-ms", "150")).toEqual([3, 2]);
    expect(await ids("--prompt", "support", "--prompt-version", "1", "--limit", "1")).toEqual([3]);
    expect(await ids("--from", "2026-01-01T10:02:00Z", "--to", String(T0 + 3 * 60_000))).toEqual([2]);
    const human = await run(["traces", "search", "--route", "support"]);
    expect(human.stdout).toMatch(/TRACE\s+START\s+ROUTE/);
    expect(human.stdout).toContain("0.002000");
  });

  it("shows one trace with what was asked and answered", async () => {
    const r = await run(["traces", "show", "1".padStart(32, "0")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("in  [user] Where is my refund?");
    expect(r.stdout).toContain("out [assistant] Write to [EMAIL].");
    const missing = await run(["traces", "show", "f".repeat(32)]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("not found");
  });

  it("refuses bad flags in one line with exit 2", async () => {
    const bad = await run(["traces", "search", "--min-cost", "cheap"]);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'error: --min-cost = "cheap": must be a number ≥ 0']);
    const when = await run(["traces", "search", "--from", "yesterday"]);
    expect(when.code).toBe(2);
    expect(when.stderr).toContain("--from");
    const noServer = await run(["llm", "monitor", "support", "--run", "--from", "0", "--to", "1"]);
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toContain("--run needs a server");
  });

  it("prints the route's latest monitor window per prompt version", async () => {
    const r = await run(["llm", "monitor", "support"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("support: window 2026-01-01T10:00:00.000Z – 2026-01-01T11:00:00.000Z");
    expect(lines.find((l) => l.startsWith("pii_leak_rate"))?.split(/\s+/)).toEqual(["pii_leak_rate", "0.5", "0.5"]);
    expect(lines.find((l) => l.startsWith("refusal_rate"))?.split(/\s+/)).toEqual(["refusal_rate", "0.5", "0.5"]);
    expect(lines.find((l) => l.startsWith("guardrail_trigger_rate"))?.split(/\s+/)).toEqual([
      "guardrail_trigger_rate",
      "pii",
      "0.5",
      "0.5",
    ]);
    const json = await run(["--json", "llm", "monitor", "support"]);
    expect((JSON.parse(json.stdout) as { metric: string }[]).some((o) => o.metric === "cost_total")).toBe(true);
    expect((await run(["llm", "monitor", "nothing"])).stdout.trim()).toBe("(no LLM monitor window yet)");
  });
});
