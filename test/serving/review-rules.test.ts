import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import type { Signature } from "../../src/data/signature.js";
import { parseEndpointConfig } from "../../src/serving/endpoint-config.js";
import { tableFromRecords } from "../../src/serving/input-table.js";
import { checkReviewRules, parseReviewPolicy, reviewReasons } from "../../src/serving/review-rules.js";
import { thrown } from "../keel-error.js";

const rows = [
  { loan_amount: 60000, purpose: "car", first_time: true },
  { loan_amount: 50000, purpose: "home", first_time: false },
  { loan_amount: null, purpose: "car" },
  { loan_amount: "75000", purpose: "debt" },
];
const table = tableFromRecords(rows, "records");

function matches(rule: string): boolean[] {
  const policy = parseReviewPolicy({ rules: [rule] }, "review");
  return rows.map((_, i) => reviewReasons(policy, `r${i}`, 0.1, table, i).length > 0);
}

describe("review rules", () => {
  it("compares a column with a literal, and combines with and / or and parentheses", () => {
    expect(matches("loan_amount > 50000")).toEqual([true, false, false, true]);
    expect(matches("loan_amount >= 50000")).toEqual([true, true, false, true]);
    expect(matches("purpose == 'car'")).toEqual([true, false, true, false]);
    expect(matches('purpose != "car"')).toEqual([false, true, false, true]);
    expect(matches("first_time == true")).toEqual([true, false, false, false]);
    expect(matches("loan_amount == null")).toEqual([false, false, true, false]);
    expect(matches("loan_amount > 55000 and purpose == 'car' or purpose == 'home'")).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(matches("loan_amount > 55000 and (purpose == 'car' or purpose == 'home')")).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });

  it("names the field, the value and the rule when a rule cannot be read", () => {
    for (const [rule, why] of [
      ["loan_amount ~ 5", "cannot read it at character 13"],
      ["loan_amount > ", "expected a literal after loan_amount >"],
      ["purpose < 'car'", "a string literal can only be compared with == or !="],
      ["(loan_amount > 5", "a parenthesis is not closed"],
      ["loan_amount > 5 purpose", "unexpected text after token 3"],
    ] as const) {
      const e = thrown(() => parseReviewPolicy({ rules: [rule] }, "endpoint.review"), InvalidParameterError);
      expect(e.details?.field).toBe("endpoint.review.rules[0]");
      expect(e.details?.value).toBe(rule);
      expect(e.message).toContain(why);
    }
    expect(thrown(() => parseReviewPolicy({}, "review")).message).toBe(
      "review = {}: must set at least one of scoreBand, sampleRate (> 0) or rules",
    );
    expect(thrown(() => parseReviewPolicy({ scoreBand: { min: 0.6, max: 0.4 } }, "review")).details?.field).toBe(
      "review.scoreBand",
    );
    expect(thrown(() => parseReviewPolicy({ sampleRate: 1.5 }, "review")).details?.field).toBe("review.sampleRate");
  });

  it("checks the rules' columns and literals against the model's signature", () => {
    const signature: Signature = {
      inputs: [
        { name: "loan_amount", type: "double", nullable: true },
        { name: "purpose", type: "string", nullable: false },
      ],
      outputs: [],
    } as unknown as Signature;
    const ok = parseReviewPolicy({ rules: ["loan_amount > 1 and purpose == 'car'"] }, "review");
    expect(() => checkReviewRules(ok, signature, "review")).not.toThrow();
    const unknown = parseReviewPolicy({ rules: ["income > 1"] }, "review");
    expect(thrown(() => checkReviewRules(unknown, signature, "review")).message).toBe(
      'review.rules[0] = "income > 1": column income is not an input of the model\'s signature',
    );
    const wrongType = parseReviewPolicy({ rules: ["purpose == 3"] }, "review");
    expect(thrown(() => checkReviewRules(wrongType, signature, "review")).message).toContain(
      "column purpose is string: compare it with a string",
    );
  });

  it("reviews a score band and a random share that is the same for the same request id", () => {
    const policy = parseReviewPolicy({ scoreBand: { min: 0.4, max: 0.6 }, sampleRate: 0.05 }, "review");
    expect(reviewReasons(policy, "x", 0.4, table, 0)).toContain("score_band");
    expect(reviewReasons(policy, "x", 0.6, table, 0)).toContain("score_band");
    expect(reviewReasons(policy, "x", 0.61, table, 0)).not.toContain("score_band");
    let sampled = 0;
    for (let i = 0; i < 20_000; i++) {
      const id = `req-${i}`;
      const a = reviewReasons(policy, id, 0.9, table, 0).includes("sample");
      expect(reviewReasons(policy, id, 0.9, table, 0).includes("sample")).toBe(a);
      if (a) sampled++;
    }
    // 5% of 20,000 ± 4 standard deviations of a binomial
    expect(Math.abs(sampled - 1000)).toBeLessThan(4 * Math.sqrt(20_000 * 0.05 * 0.95));
  });

  it("is part of the endpoint document", () => {
    const c = parseEndpointConfig({
      name: "loans",
      model: "m",
      review: { rules: ["loan_amount > 50000"], interimDecision: "refer" },
    });
    expect(c.review?.interimDecision).toBe("refer");
    expect(c.review?.sampleRate).toBe(0);
    const e = thrown(() => parseEndpointConfig({ name: "loans", model: "m", review: { rules: [7] } }));
    expect(e.message).toBe("endpoint.review.rules[0] = 7: must be a rule text");
  });
});
