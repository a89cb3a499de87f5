import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createFeatureRegistry,
  createRedisOnlineStore,
  createSqliteOnlineStore,
  createTransformLoader,
  getOnlineFeatures,
  loadFeatureRepo,
  materialize,
  materializeIncremental,
  resolveFeatureRefs,
  type FeatureRegistry,
  type FeatureRepo,
  type OnlineStore,
} from "../../src/features/index.js";
import { sqliteStores, type TestStores } from "../store/backends.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const dir = mkdtempSync(path.join(tmpdir(), "keel-online-"));
const REDIS_URL = "redis://127.0.0.1:6379";
const redisPrefix = `keel-test:features:${randomUUID()}:`;
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});
const at = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

const backends: [string, () => OnlineStore][] = [
  ["SQLite", () => createSqliteOnlineStore(path.join(dir, `${randomUUID()}.db`))],
  ["Redis", () => createRedisOnlineStore(REDIS_URL, { prefix: `${redisPrefix}${randomUUID()}:` })],
];

describe.each(backends)("materialize and read online features (%s)", (_name, makeStore) => {
  let t: TestStores;
  let store: OnlineStore;
  let registry: FeatureRegistry;
  let repo: FeatureRepo;
  let now = at("2026-04-01");
  const sources = () => ({ repo, store, now: () => now, transform: createTransformLoader() });
  beforeEach(async () => {
    t = await sqliteStores();
    store = makeStore();
    registry = createFeatureRegistry(t.stores.metadata);
    repo = await loadFeatureRepo(path.join(FIXTURES, "loan-features.yaml"));
    now = at("2026-04-01");
  });
  afterEach(async () => {
    await store.close();
    await t.close();
  });

  it("serves the latest row, NOT_FOUND for unknown entities, and OUTSIDE_MAX_AGE (never the value) past the TTL", async () => {
    const done = await materialize(repo, registry, store, { start: 0, end: at("2026-04-01") });
    expect(done).toEqual([{ featureView: "applicant_features", start: 0, end: at("2026-04-01"), rows: 3 }]);
    const r = await getOnlineFeatures(sources(), {
      features: resolveFeatureRefs(
        repo,
        ["applicant_features:credit_score", "applicant_features:home_ownership"],
        "features",
      ),
      entities: { applicant_id: [1, 2, 3, 9] },
    });
    expect(r).toEqual({
      metadata: { feature_names: ["applicant_id", "credit_score", "home_ownership"] },
      results: [
        {
          values: [1, 2, 3, 9],
          statuses: ["PRESENT", "PRESENT", "PRESENT", "PRESENT"],
          event_timestamps: Array(4).fill("1970-01-01T00:00:00Z"),
        },
        {
          values: [660, 720, null, null],
          statuses: ["PRESENT", "PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"],
          event_timestamps: [
            "2026-03-01T00:00:00Z",
            "2026-02-15T00:00:00Z",
            "2025-06-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
          ],
        },
        {
          values: ["RENT", "MORTGAGE", null, null],
          statuses: ["PRESENT", "PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"],
          event_timestamps: [
            "2026-03-01T00:00:00Z",
            "2026-02-15T00:00:00Z",
            "2025-06-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
          ],
        },
      ],
    });
    // The same stored row goes stale as the clock passes the TTL (90 days after 2026-02-15).
    now = at("2026-05-16") + 1;
    const later = await getOnlineFeatures(sources(), {
      features: resolveFeatureRefs(repo, ["applicant_features:credit_score"], "features"),
      entities: { applicant_id: ["2"] },
      fullFeatureNames: true,
    });
    expect(later.metadata.feature_names).toEqual(["applicant_id", "applicant_features__credit_score"]);
    expect(later.results[1]).toMatchObject({ values: [null], statuses: ["OUTSIDE_MAX_AGE"] });
  });

  it("runs on-demand views on the looked-up values and the request fields", async () => {
    await materialize(repo, registry, store, { start: 0, end: at("2026-04-01") });
    const r = await getOnlineFeatures(sources(), {
      features: [...repo.featureServices[0]!.features],
      entities: { applicant_id: [1, 9], loan_amount: [10_800, 5000] },
    });
    expect(r.metadata.feature_names).toEqual([
      "applicant_id",
      "credit_score",
      "annual_income",
      "monthly_debt",
      "home_ownership",
      "debt_to_income",
      "loan_to_income",
    ]);
    expect(r.results[5]).toEqual({
      values: [(12 * 950) / 54_000, null],
      statuses: ["PRESENT", "NOT_FOUND"],
      event_timestamps: ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"],
    });
    expect(r.results[6]?.values).toEqual([0.2, null]);
    await expect(
      getOnlineFeatures(sources(), {
        features: [...repo.featureServices[0]!.features],
        entities: { applicant_id: [1] },
      }),
    ).rejects.toThrow(
      'entities = ["applicant_id"]: must include request field loan_amount of on-demand feature view ratios',
    );
  });

  it("continues incrementally from the last window, and a repeated run changes nothing", async () => {
    await materialize(repo, registry, store, { start: 0, end: at("2026-02-01") });
    const read = async () =>
      (
        await getOnlineFeatures(sources(), {
          features: resolveFeatureRefs(repo, ["applicant_features:credit_score"], "features"),
          entities: { applicant_id: [1, 2] },
        })
      ).results[1];
    expect(await read()).toMatchObject({ values: [640, null], statuses: ["PRESENT", "NOT_FOUND"] });
    const inc = await materializeIncremental(repo, registry, store, { end: at("2026-04-01") });
    expect(inc).toEqual([
      { featureView: "applicant_features", start: at("2026-02-01"), end: at("2026-04-01"), rows: 2 },
    ]);
    expect(await read()).toMatchObject({ values: [660, 720], statuses: ["PRESENT", "PRESENT"] });
    await materialize(repo, registry, store, { start: 0, end: at("2026-04-01") });
    await materialize(repo, registry, store, { start: 0, end: at("2026-02-01") });
    expect(await read()).toMatchObject({ values: [660, 720] });
    await expect(materialize(repo, registry, store, { start: 0, end: 1, featureViews: ["nope"] })).rejects.toThrow(
      'feature_views[0] = "nope": must name a feature view',
    );
  });
});
