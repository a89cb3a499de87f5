import { describe, expect, it } from "vitest";
import {
  checkEvaluatorSpecs,
  createEvaluator,
  evalMetrics,
  examplesFromCsvRows,
  examplesFromJsonl,
  type EvalExample,
  type EvaluatorResult,
  type ExampleResult,
} from "../../../src/llm/index.js";
import { parseCsv } from "../../../src/serving/index.js";

const ex = (reference?: unknown): EvalExample => ({
  id: "1",
  inputs: { q: "x" },
  ...(reference === undefined ? {} : { reference }),
});

async function score(spec: unknown, output: string, example: EvalExample): Promise<EvaluatorResult> {
  const [s] = checkEvaluatorSpecs([spec]);
  const ev = await createEvaluator(s!, "evaluators[0]");
  return ev.evaluate(output, example);
}

describe("text evaluators", () => {
  it("exact_match compares trimmed text with the reference, optionally ignoring case", async () => {
    expect(await score("exact_match", " Paris\n", ex("Paris"))).toEqual({ score: 1, passed: true });
    expect(await score("exact_match", "paris", ex("Paris"))).toEqual({ score: 0, passed: false });
    expect(await score({ kind: "exact_match", ignore_case: true }, "paris", ex("Paris"))).toMatchObject({
      passed: true,
    });
  });

  it("an example without the reference an evaluator needs is an error, not a 0", async () => {
    expect(await score("exact_match", "Paris", ex())).toEqual({
      error: "exact_match needs the example's reference; it has none",
    });
    expect(await score("contains", "Paris", ex())).toHaveProperty("error");
    expect(await score({ kind: "numeric" }, "3", ex())).toHaveProperty("error");
  });

  it("contains looks for its value, else the reference", async () => {
    expect(await score("contains", "The capital is Paris.", ex("Paris"))).toMatchObject({ passed: true });
    expect(await score({ kind: "contains", value: "sorry" }, "The capital is Paris.", ex("Paris"))).toMatchObject({
      passed: false,
    });
  });

  it("regex tests the output; a bad pattern is refused naming the field", async () => {
    expect(await score({ kind: "regex", pattern: "^\\d{4}-\\d{2}$" }, "2026-12", ex())).toMatchObject({ passed: true });
    expect(await score({ kind: "regex", pattern: "^ok$", flags: "i" }, "OK", ex())).toMatchObject({ passed: true });
    await expect(score({ kind: "regex", pattern: "(" }, "x", ex())).rejects.toThrow(
      /evaluators\[0\]\.pattern = "\(": must be a valid regular expression/,
    );
  });

  it("json_schema checks validity with the guardrails' validator and says why it fails", async () => {
    const schema = { type: "object", required: ["age"], properties: { age: { type: "integer" } } };
    expect(await score({ kind: "json_schema", schema }, '{"age": 41}', ex())).toEqual({ score: 1, passed: true });
    const bad = await score({ kind: "json_schema", schema }, '{"age": "41"}', ex());
    expect(bad).toMatchObject({ score: 0, passed: false, reason: "/age must be integer" });
    expect(await score({ kind: "json_schema", schema }, "not json", ex())).toMatchObject({ passed: false });
  });

  it("numeric passes within the absolute or relative tolerance, as math.isclose", async () => {
    expect(await score({ kind: "numeric", abs_tolerance: 0.5 }, "10.4", ex("10"))).toMatchObject({ passed: true });
    expect(await score({ kind: "numeric", abs_tolerance: 0.5 }, "10.6", ex(10))).toMatchObject({ passed: false });
    expect(await score({ kind: "numeric", rel_tolerance: 0.05 }, "104", ex("100"))).toMatchObject({ passed: true });
    expect(await score({ kind: "numeric", rel_tolerance: 0.05 }, "106", ex("100"))).toMatchObject({ passed: false });
    expect(await score({ kind: "numeric" }, "about 3", ex("3"))).toMatchObject({ score: 0, passed: false });
    expect(await score({ kind: "numeric" }, "3", ex("three"))).toEqual({
      error: 'numeric needs a numeric reference, got "three"',
    });
  });

  it("refuses unknown kinds and options, bad option values and duplicate names", () => {
    expect(() => checkEvaluatorSpecs(["fuzzy"])).toThrow(/evaluators\[0\]\.kind = "fuzzy": must be one of exact_match/);
    expect(() => checkEvaluatorSpecs([{ kind: "contains", pattern: "x" }])).toThrow(
      /evaluators\[0\]\.pattern = "x": unknown option of contains; allowed: value, ignore_case/,
    );
    expect(() => checkEvaluatorSpecs(["exact_match", "exact_match"])).toThrow(
      /evaluators\[1\]\.name = "exact_match": must be unique/,
    );
    expect(() => checkEvaluatorSpecs([])).toThrow(/non-empty list/);
    return expect(
      createEvaluator(checkEvaluatorSpecs([{ kind: "numeric", abs_tolerance: -1 }])[0]!, "evaluators[0]"),
    ).rejects.toThrow(/evaluators\[0\]\.abs_tolerance = -1: must be at least 0/);
  });
});

describe("aggregate metrics", () => {
  const line = (id: string, scores: ExampleResult["scores"], error?: string): ExampleResult => ({
    id,
    inputs: {},
    ...(error === undefined ? { output: "o" } : { error }),
    latency_ms: Number(id) * 10,
    input_tokens: 5,
    output_tokens: 2,
    cost_usd: 0.001,
    scores,
  });

  it("means and pass rates count scored examples only; errors are counted apart", () => {
    const m = evalMetrics(
      [{ name: "exact" }, { name: "judge" }],
      [
        line("1", { exact: { score: 1, passed: true }, judge: { score: 0.8, passed: true } }),
        line("2", { exact: { score: 0, passed: false }, judge: { score: 0.4, passed: false } }),
        line("3", { exact: { score: 1, passed: true }, judge: { error: "not JSON" } }),
        line("4", {}, "the model call failed with HTTP 502"),
      ],
      0.002,
    );
    expect(m).toMatchObject({
      examples: 4,
      errors: 1,
      "exact/errors": 0,
      "exact/mean": 2 / 3,
      "exact/pass_rate": 2 / 3,
      "judge/errors": 1,
      "judge/mean": (0.8 + 0.4) / 2,
      "judge/pass_rate": 0.5,
      pass_rate: 1 / 4,
      "tokens.input": 20,
      "tokens.output": 8,
      "judge.cost_usd": 0.002,
      "latency_ms.mean": 20,
      "latency_ms.p50": 20,
    });
    expect(m.cost_usd).toBeCloseTo(0.004, 12);
  });
});

describe("dataset files", () => {
  it("reads JSONL examples, numbering those without an id", () => {
    const examples = examplesFromJsonl(
      '{"inputs": {"q": "2+2"}, "reference": "4", "tags": ["math"]}\n\n{"id": "b", "inputs": {"q": "hi"}, "human_label": 1}\n',
    );
    expect(examples).toEqual([
      { id: "1", inputs: { q: "2+2" }, reference: "4", tags: ["math"] },
      { id: "b", inputs: { q: "hi" }, humanLabel: 1 },
    ]);
  });

  it("refuses a bad line naming the line and the rule", () => {
    expect(() => examplesFromJsonl('{"inputs": {}}\n{"inputs": 3}', "qa.jsonl")).toThrow(
      /qa\.jsonl\[1\]\.inputs = 3: must be an object of prompt variables/,
    );
    expect(() => examplesFromJsonl("{oops", "qa.jsonl")).toThrow(/qa\.jsonl:1 = "\{oops": must be a JSON object/);
    expect(() => examplesFromJsonl('{"inputs": {}, "expected": "x"}')).toThrow(/unknown field; allowed: id, inputs/);
    expect(() => examplesFromJsonl('{"id": "a", "inputs": {}}\n{"id": "a", "inputs": {}}')).toThrow(/must be unique/);
  });

  it("reads CSV: known columns are fields, metadata.* the metadata, the rest inputs", () => {
    const rows = parseCsv(
      'id,question,reference,tags,metadata.source,human_label\nq1,"Capital of France, please?",Paris,geo;easy,atlas,1\n',
    );
    expect(examplesFromCsvRows(rows)).toEqual([
      {
        id: "q1",
        inputs: { question: "Capital of France, please?" },
        reference: "Paris",
        tags: ["geo", "easy"],
        metadata: { source: "atlas" },
        humanLabel: 1,
      },
    ]);
    expect(() => examplesFromCsvRows(parseCsv("a,b\n1\n"), "qa.csv")).toThrow(
      /qa\.csv:2 = "1 cells": must have 2 cells/,
    );
  });
});
