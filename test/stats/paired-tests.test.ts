import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cohenKappa, pairedTTest, signTest, studentTTwoSided, wilcoxonSignedRank } from "../../src/stats/index.js";

/** Made by test/fixtures/llm/make_paired_tests.py (scipy 1.10, sklearn 1.2). */
interface Fixture {
  paired: {
    name: string;
    differences: number[];
    wilcoxon: { statistic: number; p_value: number; method: "exact" | "approx" };
    ttest: { statistic: number; p_value: number } | null;
  }[];
  sign: { wins: number; losses: number; p_value: number }[];
  kappa: { name: string; a: number[]; b: number[]; kappa: number; agreement: number }[];
  t: { t: number; df: number; p_value: number }[];
}
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/llm/paired_tests.json", import.meta.url), "utf8"),
) as Fixture;

describe("paired tests against scipy", () => {
  it.each(fixture.paired)("Wilcoxon signed-rank: $name", (c) => {
    const r = wilcoxonSignedRank(c.differences);
    expect(r.method).toBe(c.wilcoxon.method);
    expect(r.statistic).toBeCloseTo(c.wilcoxon.statistic, 9);
    expect(r.pValue).toBeCloseTo(c.wilcoxon.p_value, 9);
  });

  it.each(fixture.paired.filter((c) => c.ttest !== null))("paired t: $name", (c) => {
    const r = pairedTTest(c.differences);
    expect(r.statistic).toBeCloseTo(c.ttest!.statistic, 9);
    expect(r.pValue).toBeCloseTo(c.ttest!.p_value, 9);
  });

  it.each(fixture.t)("Student t two-sided tail t=$t df=$df", (c) => {
    expect(studentTTwoSided(c.t, c.df)).toBeCloseTo(c.p_value, 11);
  });

  it.each(fixture.sign)("exact sign test $wins vs $losses", (c) => {
    expect(signTest(c.wins, c.losses).pValue).toBeCloseTo(c.p_value, 12);
  });

  it("refuses what is not a count or a finite difference", () => {
    expect(() => signTest(1.5, 2)).toThrow(/wins = 1.5: must be a non-negative integer/);
    expect(() => wilcoxonSignedRank([1, Number.NaN])).toThrow(/differences\[1\]/);
    expect(() => pairedTTest([1])).toThrow(/at least two pairs/);
  });
});

describe("judge agreement against sklearn", () => {
  it.each(fixture.kappa)("Cohen's kappa: $name", (c) => {
    const r = cohenKappa(c.a, c.b);
    expect(r.kappa).toBeCloseTo(c.kappa, 12);
    expect(r.agreement).toBeCloseTo(c.agreement, 12);
  });

  it("is NaN when both raters used one label (sklearn too), and refuses unequal lists", () => {
    expect(cohenKappa([1, 1, 1], [1, 1, 1]).kappa).toBeNaN();
    expect(() => cohenKappa([1, 2], [1])).toThrow(/both raters must label the same items/);
  });
});
