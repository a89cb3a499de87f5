import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadFeatureRepo, parseFeatureRepo, parseTtl } from "../../src/features/index.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

function base(): Record<string, unknown> {
  return {
    entities: [{ name: "applicant", join_keys: ["applicant_id"] }],
    sources: [{ name: "events", path: "events.parquet", timestamp_field: "event_timestamp" }],
    feature_views: [
      {
        name: "applicant_features",
        entities: ["applicant"],
        source: "events",
        ttl: "90d",
        schema: [{ name: "credit_score", dtype: "int64" }],
      },
    ],
    feature_services: [{ name: "svc", features: ["applicant_features:credit_score"] }],
  };
}

function errorOf(json: unknown): string {
  try {
    parseFeatureRepo(json, "/repo");
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a validation error");
}

describe("feature repository definitions", () => {
  it("reads the loan example with Feast's vocabulary, resolving paths against the file", async () => {
    const repo = await loadFeatureRepo(path.join(FIXTURES, "loan-features.yaml"));
    expect(repo.entities).toEqual([{ name: "applicant", joinKeys: ["applicant_id"] }]);
    expect(repo.sources[0]?.path).toBe(path.join(FIXTURES, "applicant_events.csv"));
    expect(repo.sources[0]?.createdTimestampColumn).toBe("created");
    expect(repo.featureViews[0]?.ttlSeconds).toBe(90 * 86_400);
    expect(repo.onDemandFeatureViews[0]?.module).toBe(path.join(FIXTURES, "ratios.ts"));
    expect(repo.featureServices[0]?.features.map((f) => `${f.view}:${f.feature}`)).toEqual([
      "applicant_features:credit_score",
      "applicant_features:annual_income",
      "applicant_features:monthly_debt",
      "applicant_features:home_ownership",
      "ratios:debt_to_income",
      "ratios:loan_to_income",
    ]);
  });

  it("parses durations and refuses what is not one", () => {
    expect(parseTtl("12h", "ttl")).toBe(43_200);
    expect(parseTtl(3600, "ttl")).toBe(3600);
    expect(parseTtl("0s", "ttl")).toBeUndefined();
    expect(() => parseTtl("90 days", "feature_views[0].ttl")).toThrow(
      'feature_views[0].ttl = "90 days": must be a duration like 90d, 12h, 30m, 45s, 2w, or whole seconds ≥ 0',
    );
  });

  it("names the field, the value and the rule of every error", () => {
    const b = base();
    expect(errorOf({ ...b, feature_views: [{ ...(b.feature_views as object[])[0], entities: ["driver"] }] })).toBe(
      'feature_views[0].entities[0] = "driver": must name an entity',
    );
    expect(
      errorOf({
        ...b,
        feature_views: [{ ...(b.feature_views as object[])[0], schema: [{ name: "x", dtype: "int32" }] }],
      }),
    ).toBe('feature_views[0].schema[0].dtype = "int32": must be one of int64, float64, string, bool');
    expect(errorOf({ ...b, feature_services: [{ name: "svc", features: ["applicant_features:income"] }] })).toBe(
      'feature_services[0].features[0] = "applicant_features:income": must name a feature of applicant_features (credit_score)',
    );
    expect(errorOf({ ...b, sources: [{ name: "events", path: "events.xlsx", timestamp_field: "t" }] })).toBe(
      'sources[0].path = "events.xlsx": must end in .csv, .tsv, .parquet or .pq',
    );
    expect(errorOf({ ...b, entities: [...(b.entities as object[]), { name: "applicant", join_keys: ["id"] }] })).toBe(
      'entities[1].name = "applicant": must be unique; entities[0] has the same name',
    );
    expect(errorOf({ ...b, feature_view: [] })).toMatch(/^repository\.feature_view = \[\]: unknown field; allowed: /);
    expect(
      errorOf({
        ...b,
        feature_views: [{ ...(b.feature_views as object[])[0], schema: [{ name: "applicant_id", dtype: "int64" }] }],
      }),
    ).toBe(
      'feature_views[0].schema = "applicant_id": must not declare join key applicant_id of entity applicant as a feature',
    );
  });
});
