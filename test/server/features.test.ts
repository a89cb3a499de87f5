import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFeatureRegistry, loadFeatureRepo } from "../../src/features/index.js";
import { http, startTestServer, type TestServer } from "./helpers.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../features/fixtures");
const DAY = 86_400_000;

describe("feature server in Feast's shape (real server, port 0)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    const repo = await loadFeatureRepo(path.join(FIXTURES, "loan-features.yaml"));
    await createFeatureRegistry(server.stores.metadata).apply(repo, {
      sourceFile: "loan-features.yaml",
      actor: "test",
    });
  }, 60_000);
  afterAll(async () => server.close());

  it("materializes, takes pushed rows, and serves them with statuses; a row older than the TTL is OUTSIDE_MAX_AGE", async () => {
    const done = await server.client.materializeFeatures({
      start_ts: "2025-01-01T00:00:00Z",
      end_ts: "2026-04-01T00:00:00Z",
    });
    expect(done.materialized).toMatchObject([{ featureView: "applicant_features", rows: 3 }]);
    const fresh = new Date(Date.now() - DAY).toISOString();
    const stale = new Date(Date.now() - 100 * DAY).toISOString();
    const pushed = await server.client.pushFeatures({
      push_source_name: "applicant_events",
      df: {
        applicant_id: [1, 2],
        event_timestamp: [fresh, stale],
        credit_score: [700, 710],
        annual_income: [60_000, 70_000],
        monthly_debt: [1000, 1100],
        home_ownership: ["OWN", "RENT"],
      },
    });
    expect(pushed).toEqual({ rows_written: 2 });
    const r = await server.client.getOnlineFeatures({
      features: ["applicant_features:credit_score", "applicant_features:home_ownership"],
      entities: { applicant_id: [1, 2, 404] },
    });
    expect(r.metadata.feature_names).toEqual(["applicant_id", "credit_score", "home_ownership"]);
    expect(r.results[0]).toEqual({
      values: [1, 2, 404],
      statuses: ["PRESENT", "PRESENT", "PRESENT"],
      event_timestamps: Array(3).fill("1970-01-01T00:00:00Z"),
    });
    expect(r.results[1]).toEqual({
      values: [700, null, null],
      statuses: ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"],
      event_timestamps: [fresh.replace(/\.\d{3}Z$/, "Z"), stale.replace(/\.\d{3}Z$/, "Z"), "1970-01-01T00:00:00Z"],
    });

    const svc = await server.client.getOnlineFeatures({
      feature_service: "loan_default_v1",
      entities: { applicant_id: [1], loan_amount: [12_000] },
      full_feature_names: true,
    });
    expect(svc.metadata.feature_names).toEqual([
      "applicant_id",
      "applicant_features__credit_score",
      "applicant_features__annual_income",
      "applicant_features__monthly_debt",
      "applicant_features__home_ownership",
      "ratios__debt_to_income",
      "ratios__loan_to_income",
    ]);
    expect(svc.results[5]?.values).toEqual([0.2]);
    expect(svc.results[6]?.values).toEqual([0.2]);
  });

  it("answers bad input with a 4xx in keel's error format naming the field, the value and the rule", async () => {
    const cases: [string, unknown, string][] = [
      [
        "/get-online-features",
        { features: ["applicant_features:fico"], entities: { applicant_id: [1] } },
        'features[0] = "applicant_features:fico": must name a feature of applicant_features (credit_score, annual_income, monthly_debt, home_ownership)',
      ],
      [
        "/get-online-features",
        { features: ["applicant_features"], entities: { applicant_id: [1, 2], loan_amount: [1] } },
        "entities.loan_amount = 1: must have as many values as entities.applicant_id (2)",
      ],
      [
        "/get-online-features",
        { feature_service: "nope", entities: { applicant_id: [1] } },
        'feature_service = "nope": must name a feature service (loan_default_v1)',
      ],
      [
        "/push",
        { push_source_name: "applicant_events", df: { applicant_id: [1] }, to: "warehouse" },
        'to = "warehouse": must be one of online, offline, online_and_offline',
      ],
      [
        "/push",
        {
          push_source_name: "applicant_events",
          df: {
            applicant_id: [1],
            event_timestamp: ["2026-01-01T00:00:00Z"],
            credit_score: [1.5],
            annual_income: [1],
            monthly_debt: [1],
            home_ownership: ["OWN"],
          },
        },
        "df.credit_score[0] = 1.5: must be an integer or null (dtype int64)",
      ],
      [
        "/materialize",
        { start_ts: "soon", end_ts: 1 },
        'start_ts = "soon": must be epoch milliseconds (an integer) or an ISO-8601 time',
      ],
    ];
    for (const [route, body, message] of cases) {
      const res = await http(`${server.url}${route}`, "POST", JSON.stringify(body));
      expect(res.status, route).toBe(400);
      expect(res.json).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE", message });
    }
  });
});
