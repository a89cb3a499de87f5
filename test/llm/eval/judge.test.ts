import { describe, expect, it } from "vitest";
import type { GatewayReply, PromptVersion } from "../../../src/llm/index.js";
import { judge, JudgeError, parseJudgeAnswer, renderRubric, type JudgeRubric } from "../../../src/llm/index.js";

function rubricPrompt(template: PromptVersion["template"], model?: string): PromptVersion {
  return {
    name: "grader",
    version: "3",
    template,
    type: typeof template === "string" ? "text" : "chat",
    variables: [],
    ...(model === undefined ? {} : { model }),
    parameters: { temperature: 0 },
    commitMessage: "rubric",
    aliases: [],
    creationTimestamp: 0,
    userId: "",
    tags: [],
  };
}

const RUBRIC: JudgeRubric = {
  prompt: rubricPrompt(
    [
      { role: "system", content: 'Grade the answer. Reply with JSON {"score": 0..5, "reason": "..."}.' },
      { role: "user", content: "Question: {{input}}\nAnswer: {{output}}\nExpected: {{reference}}" },
    ],
    "judge-model",
  ),
  minScore: 0,
  maxScore: 5,
};

const reply = (content: string, status = 200): GatewayReply => ({
  status,
  json:
    status === 200
      ? {
          choices: [{ message: { content }, finish_reason: "stop" }],
          usage: { prompt_tokens: 12, completion_tokens: 7 },
        }
      : { error: { message: content, type: "api_error" } },
});

describe("parseJudgeAnswer", () => {
  const range = { minScore: 0, maxScore: 1 };
  it("reads a JSON object with a score in range and a reason", () => {
    expect(parseJudgeAnswer('{"score": 0.75, "reason": "mostly right"}', range)).toEqual({
      score: 0.75,
      reason: "mostly right",
    });
    expect(parseJudgeAnswer('```json\n{"score": 1, "reason": "exact"}\n```', range).score).toBe(1);
  });
  it.each([
    ["prose", "The answer is good, 0.8", /not JSON/],
    ["a list", "[0.8]", /must be a JSON object/],
    ["a string score", '{"score": "0.8", "reason": "x"}', /score must be a number/],
    ["no score", '{"reason": "x"}', /score must be a number/],
    ["a score out of range", '{"score": 4, "reason": "x"}', /outside its range \[0, 1\]/],
    ["an empty reason", '{"score": 0.2, "reason": " "}', /reason must be a non-empty string/],
    ["an extra field", '{"score": 0.2, "reason": "x", "confidence": 1}', /unknown field "confidence"/],
    ["two objects", '{"score": 0.2, "reason": "x"}{"score": 1, "reason": "y"}', /not JSON/],
  ])("refuses %s", (_, text, message) => {
    expect(() => parseJudgeAnswer(text, range)).toThrow(message);
    expect(() => parseJudgeAnswer(text, range)).toThrow(JudgeError);
  });
});

describe("judge", () => {
  it("renders the rubric with the example, pins the rubric's model and parameters, and returns the verdict", async () => {
    const bodies: Record<string, unknown>[] = [];
    const verdict = await judge(
      (body) => {
        bodies.push({ ...body });
        return Promise.resolve(reply('{"score": 4, "reason": "close to the reference"}'));
      },
      RUBRIC,
      { input: { question: "2+2?" }, output: "4", reference: "four" },
    );
    expect(verdict).toEqual({ score: 4, reason: "close to the reference", inputTokens: 12, outputTokens: 7 });
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.model).toBe("judge-model");
    expect(bodies[0]?.temperature).toBe(0);
    expect(bodies[0]?.messages).toEqual([
      { role: "system", content: 'Grade the answer. Reply with JSON {"score": 0..5, "reason": "..."}.' },
      { role: "user", content: 'Question: {"question":"2+2?"}\nAnswer: 4\nExpected: four' },
    ]);
  });

  it("refuses an example without a variable the rubric uses, and a rubric variable it does not know", () => {
    expect(() => renderRubric(RUBRIC, { input: "q", output: "a" })).toThrow(
      /uses \{\{reference\}\} but the example has no reference/,
    );
    const odd = { ...RUBRIC, prompt: rubricPrompt("Rate {{answer}}") };
    expect(() => renderRubric(odd, { input: "q", output: "a" })).toThrow(/uses \{\{answer\}\}; a rubric may use/);
  });

  it("turns a malformed answer, a failed call and a blocked answer into a JudgeError, never a score", async () => {
    const ex = { input: "q", output: "a", reference: "r" };
    await expect(judge(() => Promise.resolve(reply("Score: 5/5")), RUBRIC, ex)).rejects.toThrow(/not JSON/);
    await expect(judge(() => Promise.resolve(reply("upstream down", 502)), RUBRIC, ex)).rejects.toThrow(
      /HTTP 502: upstream down/,
    );
    const blocked: GatewayReply = {
      status: 200,
      json: { choices: [{ message: { content: "" }, finish_reason: "content_filter" }] },
    };
    await expect(judge(() => Promise.resolve(blocked), RUBRIC, ex)).rejects.toThrow(/blocked by a guardrail/);
  });
});
