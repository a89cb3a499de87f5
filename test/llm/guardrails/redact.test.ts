import { describe, expect, it } from "vitest";
import { detectPii, placeholder, redact } from "../../../src/llm/index.js";

describe("redact", () => {
  it("replaces each span with its typed placeholder", () => {
    const text = "Mail a@example.com or call +44 20 7946 0958; card 4111 1111 1111 1111.";
    expect(redact(text, detectPii(text))).toBe("Mail [EMAIL] or call [PHONE]; card [CARD].");
    expect(placeholder("blocked_term")).toBe("[BLOCKED_TERM]");
  });

  it("merges overlapping spans under the first one's type and keeps the rest of the text", () => {
    const spans = [
      { start: 6, end: 12, type: "blocked_term" },
      { start: 2, end: 8, type: "email" },
      { start: 14, end: 15, type: "ssn" },
    ];
    expect(redact("0123456789abcdefg", spans)).toBe("01[EMAIL]cd[SSN]fg");
    expect(redact("unchanged", [])).toBe("unchanged");
  });
});
