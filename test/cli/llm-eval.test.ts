import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../llm/fake-openai-upstream.js";
import { keelInProcess } from "./helpers.js";

describe("keel llm: datasets, eval and compare on the local store", () => {
  let dir: string;
  let upstream: FakeUpstream;
  const run = (args: string[]) => keelInProcess(args, { env: { KEEL_DATA_DIR: dir }, cwd: dir });

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    dir = mkdtempSync(path.join(tmpdir(), "keel-cli-llm-"));
    const rows = [
      ["Peru", "Lima", "Lima"],
      ["Chile", "Santiago", "Santiago"],
      ["Kenya", "Nairobi", "Mombasa"],
    ];
    writeFileSync(
      path.join(dir, "capitals.jsonl"),
      rows
        .map(([c, city, hint]) => JSON.stringify({ inputs: { question: `Capital of ${c}?`, hint }, reference: city }))
        .join("\n"),
    );
    writeFileSync(
      path.join(dir, "capitals.csv"),
      "id,question,hint,reference\n" +
        rows.map(([c, city, hint]) => `${c},"Capital of ${c}, please?",${hint},${city}`).join("\n"),
    );
    writeFileSync(path.join(dir, "bare.yaml"), "- role: user\n  content: '{{question}}'\n");
    writeFileSync(path.join(dir, "hinted.yaml"), "- role: user\n  content: '{{question}} Hint: {{hint}}'\n");
    writeFileSync(
      path.join(dir, "llm.yaml"),
      `routes:\n  qa:\n    upstream: { url: ${upstream.url}, model: qa-model }\nprices:\n  qa-model: { inputPer1M: 1, outputPer1M: 2 }\n` +
        "prompts:\n  promotionGates:\n    production: { gate: eval, thresholds: { contains/pass_rate: { min: 0.6 } } }\n",
    );
    writeFileSync(
      path.join(dir, "evals.yaml"),
      "- { kind: regex, name: mentions_hint, pattern: 'Hint: ' }\n- { kind: json_schema, schema: { type: object } }\n",
    );
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await upstream.close();
  });

  it("creates datasets from JSONL and CSV, evaluates two prompt versions and compares them", async () => {
    expect((await run(["prompts", "create", "qa", "--template-file", "bare.yaml", "-m", "bare"])).code).toBe(0);
    expect((await run(["prompts", "create", "qa", "--template-file", "hinted.yaml", "-m", "hinted"])).code).toBe(0);

    const jsonl = await run(["llm", "datasets", "create", "capitals", "--file", "capitals.jsonl", "-m", "three"]);
    expect([jsonl.code, jsonl.stdout]).toEqual([
      0,
      expect.stringMatching(/^created capitals v1 \(3 examples, sha256 [0-9a-f]{64}\)\n$/),
    ]);
    const csv = await run(["--json", "llm", "datasets", "create", "capitals", "--file", "capitals.csv"]);
    expect(JSON.parse(csv.stdout)).toMatchObject({ version: "2", example_count: 3 });
    const shown = await run(["--json", "llm", "datasets", "show", "capitals@2"]);
    expect((JSON.parse(shown.stdout) as { examples: unknown[] }).examples[0]).toEqual({
      id: "Peru",
      inputs: { question: "Capital of Peru, please?", hint: "Lima" },
      reference: "Lima",
    });
    expect((await run(["llm", "datasets", "list"])).stdout).toMatch(/^NAME\s+ALIASES\s+CREATED\ncapitals/);

    const evalArgs = (prompt: string) => [
      "--json",
      "llm",
      "eval",
      "--dataset",
      "capitals@1",
      "--prompt",
      prompt,
      "--route",
      "qa",
      "--evaluators",
      "contains",
      "--evaluators-file",
      "evals.yaml",
      "--llm-config",
      "llm.yaml",
    ];
    const a = await run(evalArgs("qa@1"));
    expect(a.code).toBe(0);
    const runA = JSON.parse(a.stdout) as { run_id: string; metrics: Record<string, number> };
    expect(runA.metrics).toMatchObject({
      examples: 3,
      "contains/pass_rate": 0,
      "mentions_hint/pass_rate": 0,
      "json_schema/pass_rate": 0,
    });
    const gated = await run([...evalArgs("qa@1").slice(1), "--gate", "production"]);
    expect(gated.code).toBe(1);
    expect(gated.stderr).toMatch(
      /^error: run \S+ does not meet gate eval of production: contains\/pass_rate = 0 < 0\.6\n$/,
    );
    const b = await run([...evalArgs("qa@2"), "--gate", "production"]);
    expect(b.code).toBe(0);
    const runB = JSON.parse(b.stdout) as { run_id: string; metrics: Record<string, number> };
    expect(runB.metrics).toMatchObject({ "contains/pass_rate": 2 / 3, "mentions_hint/pass_rate": 1 });
    expect(runB.metrics.cost_usd).toBeGreaterThan(0);

    const human = await run(["llm", "compare", runA.run_id, runB.run_id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`B = ${runB.run_id} against A = ${runA.run_id} on capitals@1`);
    const compared = await run(["--json", "llm", "compare", runA.run_id, runB.run_id]);
    const contains = (
      JSON.parse(compared.stdout) as { evaluators: { evaluator: string; b_only_passed: number }[] }
    ).evaluators.find((e) => e.evaluator === "contains");
    expect(contains?.b_only_passed).toBe(2);

    const logged = await run(["--json", "runs", "get", runB.run_id]);
    expect(logged.stdout).toContain('"keel.eval.prompt_version"');

    const promote = (version: string) =>
      run([
        "prompts",
        "promote",
        "qa",
        version,
        "--to",
        "production",
        "--reason",
        "CHG-9",
        "--approver",
        "ana",
        "--llm-config",
        "llm.yaml",
      ]);
    const refused = await promote("1");
    expect([refused.code, refused.stderr.trim()]).toEqual([
      1,
      'error: prompt "qa" version 1 cannot become "production": gate "eval" failed: contains/pass_rate = 0 < 0.6',
    ]);
    const passed = await promote("2");
    expect(passed.code).toBe(0);
    expect(passed.stdout).toContain(
      `by ana: CHG-9 [gate eval: passed; run ${runB.run_id}; dataset capitals@1; contains/pass_rate = 0.6666666666666666 >= 0.6]`,
    );
  });

  it("refuses bad input with one line and exit 2", async () => {
    const bad = await run([
      "llm",
      "eval",
      "--dataset",
      "capitals",
      "--prompt",
      "qa@1",
      "--route",
      "qa",
      "--evaluators",
      "fuzzy",
      "--llm-config",
      "llm.yaml",
    ]);
    expect([bad.code, bad.stderr.trim().split("\n").length]).toEqual([2, 1]);
    expect(bad.stderr).toContain('--evaluators[0].kind = "fuzzy": must be one of exact_match');
    const noConfig = await run([
      "llm",
      "eval",
      "--dataset",
      "capitals",
      "--prompt",
      "qa@1",
      "--route",
      "qa",
      "--evaluators",
      "contains",
    ]);
    expect([noConfig.code, noConfig.stderr.trim()]).toEqual([
      2,
      "error: --llm-config = null: is needed to call the gateway without a server",
    ]);
    const missing = await run(["llm", "datasets", "create", "x", "--file", "nowhere.jsonl"]);
    expect([missing.code, missing.stderr.trim()]).toEqual([
      2,
      'error: --file = "nowhere.jsonl": cannot be read (ENOENT)',
    ]);
    const file = await run(["llm", "datasets", "create", "x", "--file", "capitals.txt"]);
    expect([file.code, file.stderr.trim()]).toEqual([
      2,
      'error: --file = "capitals.txt": must be a .jsonl or .csv file',
    ]);
  });
});
