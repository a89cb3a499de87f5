import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keel, keelInProcess as keelCli, keelServer } from "./helpers.js";

let dir: string;
const file = (name: string) => path.join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "keel-cli-server-monitoring-"));
  writeFileSync(file("weekly.json"), JSON.stringify({ models: [{ name: "loan-default", windows: ["weekly"] }] }));
  // a JSON syntax error whose parser message quotes several lines of the file
  writeFileSync(file("not-json.json"), '{\n  "models": [\n    loan-default\n  ]\n}\n');
  writeFileSync(file("unknown-field.json"), JSON.stringify({ models: [], delay: 5 }));
  writeFileSync(file("bad-rule.json"), JSON.stringify({ models: [], rules: [{ id: "r", tier: "urgent" }] }));
  writeFileSync(
    file("bad-sink.json"),
    JSON.stringify({ models: [], sinks: [{ type: "slack", url: "hooks.slack.com" }] }),
  );
  writeFileSync(file("no-models.json"), JSON.stringify({ models: [] }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keel server --monitoring-config", () => {
  it("exits 2 with one readable stderr line on a malformed file (a real process)", async () => {
    const r = await keel(["server", "--port", "0", "--monitoring-config", file("weekly.json")], {
      KEEL_DATA_DIR: file("data"),
      KEEL_LOG_LEVEL: "silent",
    });
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `error: ${file("weekly.json")}: models[0].windows[0] = "weekly": must be hourly, daily or a number of minutes, hours or days (15m, 4h, 7d) up to 31d\n`,
    );
    expect(r.code).toBe(2);
  }, 30_000);

  it.each([
    ["not-json.json", /^error: \S*not-json\.json: not valid JSON \(.*not valid JSON\)$/],
    [
      "unknown-field.json",
      /^error: \S+unknown-field\.json: delay = 5: unknown field; allowed: models, champions, exclude, windows, performanceWindows, delayMinutes, rules, sinks, reviewSla$/,
    ],
    ["bad-rule.json", /^error: \S+bad-rule\.json: rules\[0\]\.tier = "urgent": must be one of notify, /],
    ["bad-sink.json", /^error: \S+bad-sink\.json: sinks\[0\]\.url = "hooks\.slack\.com": must be an http\(s\) URL$/],
    ["absent.json", /^error: \S*absent\.json: cannot be read$/],
  ])("%s: exit 2, one line naming the file and the field", async (name, line) => {
    const r = await keelCli(["server", "--port", "0", "--monitoring-config", name], {
      env: { KEEL_DATA_DIR: file("data"), KEEL_LOG_LEVEL: "silent" },
      cwd: dir,
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  it("starts on a valid file, quietly, and stops with exit 0 on SIGTERM", async () => {
    const { child, output } = await keelServer(["--port", "0", "--monitoring-config", file("no-models.json")], {
      KEEL_DATA_DIR: file("data"),
      KEEL_LOG_LEVEL: "silent",
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // a moment for anything the scheduler would print once running
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output().trim()).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/);
  }, 30_000);
});
