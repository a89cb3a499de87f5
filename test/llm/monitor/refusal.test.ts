import { describe, expect, it } from "vitest";
import { hasRefusalPhrase, isRefusal } from "../../../src/llm/index.js";

describe("the refusal detector", () => {
  it.each([
    "I'm sorry, but I can't help with that.",
    "I’m unable to share account details.",
    "Thanks for asking. I cannot assist with anything involving other accounts.",
    "i must decline this request",
  ])("finds a refusal in %j", (text) => {
    expect(hasRefusalPhrase(text)).toBe(true);
  });
  it.each([
    "We can't help noticing you asked twice; the answer is yes.",
    "The agent said I can't provide feedback, but you can.",
    "Your refund is on its way.",
  ])("does not read %j as a refusal", (text) => {
    expect(hasRefusalPhrase(text)).toBe(false);
  });
  it("counts a content filter and OpenAI's refusal field", () => {
    expect(isRefusal([{ content: "", finishReason: "content_filter" }])).toBe(true);
    expect(isRefusal([{ content: "", finishReason: "stop", refusal: "no" }])).toBe(true);
    expect(isRefusal([{ content: "Sure, here it is.", finishReason: "stop" }])).toBe(false);
  });
});
