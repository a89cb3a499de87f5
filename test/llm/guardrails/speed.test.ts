import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { createGuardrailSet, detectPii, parseGuardrailSet } from "../../../src/llm/index.js";

/** About 2 KB of a support conversation with an email, a phone number and a card among the prose. */
function twoKilobytes(): string {
  const prose = [
    "Hi, I was charged twice for my subscription this month and the support page did not help.",
    "The invoice INV-2026-004512 lists 2 seats at $49.99 each, but we only have one user since 2026-03-01.",
    "Could you refund the second charge and confirm by email to dana.kowalski@example.com?",
    "If it is easier, call me on +44 20 7946 0958 between 9:30 and 17:00, version 4.2.1 of the app shows the same.",
    "The card ending in the number 4111 1111 1111 1111 should not be charged again until the plan renews.",
    "Our office router at 192.168.10.1 blocks nothing, so the failed login is not on our side.",
  ];
  let text = "";
  for (let i = 0; text.length < 2048; i++) text += prose[i % prose.length] + " ";
  return text.slice(0, 2048);
}

/** Median microseconds of `fn` over `rounds` calls, after a warm-up. */
async function medianMicros(fn: () => unknown, rounds = 2000): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) * 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(rounds / 2)] as number;
}

describe("guardrail speed", () => {
  it("checks a 2 KB text well under a millisecond", async () => {
    const text = twoKilobytes();
    const set = createGuardrailSet(
      parseGuardrailSet({
        checks: [
          { kind: "pii", action: "redact" },
          { kind: "prompt_injection", action: "block" },
          { kind: "blocked_terms", action: "flag", terms: ["crypto", "credit repair", "weapons", "gambling"] },
        ],
      }),
    );
    expect((await set.check(text)).decision).toBe("redact");
    const pii = await medianMicros(() => detectPii(text));
    const all = await medianMicros(() => set.check(text));
    const kb = text.length / 1024;
    console.log(
      `2 KB text: detectPii ${pii.toFixed(0)} µs (${(pii / kb).toFixed(0)} µs/KB); ` +
        `PII + injection + blocked terms ${all.toFixed(0)} µs (${(all / kb).toFixed(0)} µs/KB)`,
    );
    // Generous against a loaded CI machine; the figure printed above is what the docs quote.
    expect(all).toBeLessThan(1000);
  });

  it("hostile 2 KB inputs (long digit runs, repeated near-IBANs and phone fragments) stay linear", async () => {
    const hostile = {
      digits: "1".repeat(2048),
      "plus-digits": "+" + "1".repeat(2047),
      "near-iban": "AB12 ".repeat(410),
      "phone-fragments": "+1 2 ".repeat(410),
      "hex-colons": "abcd:".repeat(410),
      "dotted-locals": "a.".repeat(1024) + "@",
    };
    const figures: string[] = [];
    for (const [name, text] of Object.entries(hostile)) {
      const us = await medianMicros(() => detectPii(text), 500);
      figures.push(`${name} ${us.toFixed(0)} µs`);
      expect(us, name).toBeLessThan(1000);
    }
    console.log(`hostile 2 KB texts, detectPii median: ${figures.join(", ")}`);
  });
});
