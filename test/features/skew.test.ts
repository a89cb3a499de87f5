import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { featureService, featureSkew, loadFeatureRepo } from "../../src/features/index.js";
import type { InferenceRecord } from "../../src/store/inference-log.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

function record(
  i: number,
  entityId: string | undefined,
  time: string,
  features: InferenceRecord["features"],
  route = "champion",
): InferenceRecord {
  return {
    requestId: `r${i}`,
    time: Date.parse(time),
    endpoint: "loans",
    modelName: "loan-default",
    modelVersion: "1",
    route,
    ...(entityId !== undefined ? { entityId } : {}),
    features,
    outputs: { score: 0.1 },
    latencyMs: 1,
  };
}

/** What serving would have logged for the fixture's applicants, with a debt-to-income computed by `dti`. */
function logged(dti: (debt: number, income: number) => number): InferenceRecord[] {
  const one = {
    credit_score: 660,
    annual_income: 54_000,
    monthly_debt: 950,
    home_ownership: "RENT",
    loan_amount: 10_800,
  };
  const two = {
    credit_score: 720,
    annual_income: 88_000,
    monthly_debt: 1200,
    home_ownership: "MORTGAGE",
    loan_amount: 8800,
  };
  const three = {
    credit_score: null,
    annual_income: null,
    monthly_debt: null,
    home_ownership: null,
    loan_amount: 5000,
  };
  return [
    record(1, "1", "2026-03-05T00:00:00Z", { ...one, debt_to_income: dti(950, 54_000), loan_to_income: 0.2 }),
    record(2, "2", "2026-02-20T00:00:00Z", { ...two, debt_to_income: dti(1200, 88_000), loan_to_income: 0.1 }),
    // Past the 90-day TTL: served as missing, recomputed as missing.
    record(3, "3", "2026-01-15T00:00:00Z", { ...three, debt_to_income: null, loan_to_income: null }),
    record(4, undefined, "2026-03-05T00:00:00Z", { ...one, debt_to_income: 0, loan_to_income: 0 }),
    record(5, "1", "2026-03-05T00:00:00Z", { ...one, debt_to_income: 99, loan_to_income: 99 }, "shadow"),
  ];
}

describe("training-serving skew", () => {
  it("reports no differing rows when serving used the defined features, and flags a changed transformation", async () => {
    const repo = await loadFeatureRepo(path.join(FIXTURES, "loan-features.yaml"));
    const features = featureService(repo, "loan_default_v1", "feature_service").features;
    const same = await featureSkew(
      repo,
      logged((d, inc) => (12 * d) / inc),
      { features },
    );
    expect(same.rows).toBe(3);
    expect(same.withoutEntity).toBe(1);
    expect(same.features.map((f) => [f.feature, f.differing, f.flagged])).toEqual([
      ["credit_score", 0, false],
      ["annual_income", 0, false],
      ["monthly_debt", 0, false],
      ["home_ownership", 0, false],
      ["debt_to_income", 0, false],
      ["loan_to_income", 0, false],
    ]);

    const changed = await featureSkew(
      repo,
      logged((d, inc) => (11 * d) / inc),
      { features },
    );
    const dti = changed.features.find((f) => f.feature === "debt_to_income");
    expect(dti).toMatchObject({ compared: 3, differing: 2, flagged: true });
    expect(dti?.shareDiffering).toBeCloseTo(2 / 3, 12);
    expect(dti?.maxAbsDelta).toBeCloseTo(950 / 54_000, 12);
    expect(changed.features.filter((f) => f.flagged).map((f) => f.feature)).toEqual(["debt_to_income"]);
  });
});
