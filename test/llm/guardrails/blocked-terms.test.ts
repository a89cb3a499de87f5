import { describe, expect, it } from "vitest";
import { blockedTermsMatcher, detectBlockedTerms } from "../../../src/llm/index.js";

describe("blocked terms", () => {
  it("match whole words, any case, any white space, and report the configured term", () => {
    const text = "Tell me about CREDIT  card fraud, crypto and cryptography.";
    const spans = detectBlockedTerms(text, ["credit card fraud", "credit card", "crypto"]);
    expect(spans.map((s) => [text.slice(s.start, s.end), s.term])).toEqual([
      ["CREDIT  card fraud", "credit card fraud"],
      ["crypto", "crypto"],
    ]);
    expect(spans.every((s) => s.type === "blocked_term")).toBe(true);
  });

  it("word boundaries hold for letters outside ASCII and for terms with punctuation", () => {
    const match = blockedTermsMatcher(["café", "c++", "gun"]);
    expect(match("cafés and café, c++ code, shotgun, gun.").map((s) => s.term)).toEqual(["café", "c++", "gun"]);
    expect(match("Ğun gunnery")).toEqual([]);
  });

  it("an empty list matches nothing", () => {
    expect(detectBlockedTerms("anything", [])).toEqual([]);
  });
});
