import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { categoricalFromStrings, numericColumn, type Frame } from "../../src/data/index.js";
import {
  createFeatureRegistry,
  createFeatureStore,
  createSqliteOnlineStore,
  featureService,
  loadFeatureRepo,
  type FeatureRepo,
  type FeatureStore,
  type SkewReport,
} from "../../src/features/index.js";
import { serializeKeelModel, trainModel } from "../../src/learn/index.js";
import { eventTime } from "../../src/monitoring/index.js";
import { startMonitoring } from "../../src/server/monitoring-wiring.js";
import { parseEndpointConfig } from "../../src/serving/index.js";
import { keelInProcess } from "../cli/helpers.js";
import { openStack, post, serve, type Served, type Stack } from "./harness.js";

const FEATURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../features/fixtures");
/** The time requests are served at: applicants 1 and 2 are within the 90-day TTL, applicant 3 is not. */
const NOW = Date.parse("2026-03-05T12:00:00Z");

/** Loan applications over wide ranges, with the repository's feature names and the request field. */
function trainingFrame(n: number): Frame {
  let seed = 11;
  const rand = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const credit = new Float64Array(n);
  const income = new Float64Array(n);
  const debt = new Float64Array(n);
  const loan = new Float64Array(n);
  const dti = new Float64Array(n);
  const lti = new Float64Array(n);
  const target = new Float64Array(n);
  const home: string[] = [];
  for (let i = 0; i < n; i++) {
    credit[i] = Math.round(300 + 550 * rand());
    income[i] = 20_000 + 180_000 * rand();
    debt[i] = 100 + 4900 * rand();
    loan[i] = 1000 + 49_000 * rand();
    dti[i] = (12 * (debt[i] as number)) / (income[i] as number);
    lti[i] = (loan[i] as number) / (income[i] as number);
    home.push(["RENT", "OWN", "MORTGAGE"][Math.floor(3 * rand())] as string);
    const risk = 2 * (dti[i] as number) + (lti[i] as number) - ((credit[i] as number) - 575) / 100;
    target[i] = rand() < 1 / (1 + Math.exp(-risk)) ? 1 : 0;
  }
  return {
    nRows: n,
    columns: [
      numericColumn("credit_score", credit),
      numericColumn("annual_income", income),
      numericColumn("monthly_debt", debt),
      categoricalFromStrings("home_ownership", home),
      numericColumn("loan_amount", loan),
      numericColumn("debt_to_income", dti),
      numericColumn("loan_to_income", lti),
      numericColumn("default", target),
    ],
  };
}

/** The fixture's applicants 1 and 2 as `applicant_events.csv` has them at NOW, written out by hand. */
const DIRECT = [
  {
    credit_score: 660,
    annual_income: 54_000,
    monthly_debt: 950,
    home_ownership: "RENT",
    loan_amount: 10_800,
    debt_to_income: (12 * 950) / 54_000,
    loan_to_income: 10_800 / 54_000,
  },
  {
    credit_score: 720,
    annual_income: 88_000,
    monthly_debt: 1200,
    home_ownership: "MORTGAGE",
    loan_amount: 8800,
    debt_to_income: (12 * 1200) / 88_000,
    loan_to_income: 8800 / 88_000,
  },
];

type OipTensor = { name: string; shape: number[]; datatype: string; data: (number | string)[] };

function oipBody(columns: Record<string, (number | string)[]>): { inputs: OipTensor[] } {
  return {
    inputs: Object.entries(columns).map(([name, data]) => ({
      name,
      shape: [data.length],
      datatype: typeof data[0] === "string" ? "BYTES" : name === "applicant_id" ? "INT64" : "FP64",
      data,
    })),
  };
}

function predictScores(body: unknown): number[] {
  return (body as { predictions: { score: number }[] }).predictions.map((p) => p.score);
}

function inferScores(body: unknown): number[] {
  return (body as { outputs: { data: number[] }[] }).outputs[0]?.data ?? [];
}

describe("serving by entity key (an endpoint naming a feature service)", () => {
  let stack: Stack;
  let served: Served;
  let features: FeatureStore;
  let repo: FeatureRepo;

  beforeAll(async () => {
    stack = await openStack();
    repo = await loadFeatureRepo(path.join(FEATURES, "loan-features.yaml"));
    const registry = createFeatureRegistry(stack.stores.metadata);
    await registry.apply(repo, { sourceFile: "loan-features.yaml", actor: "test" });
    features = createFeatureStore({
      registry,
      online: createSqliteOnlineStore(path.join(stack.dir, "online.db")),
      clock: () => NOW,
      eventTime,
    });
    await features.materialize({ start: Date.parse("2025-01-01T00:00:00Z"), end: Date.parse("2026-04-01T00:00:00Z") });

    const trained = await trainModel(trainingFrame(800), {
      target: "default",
      positive: "1",
      params: { n_estimators: 30, max_depth: 3 },
    });
    const file = path.join(stack.dir, "loan-model.json");
    writeFileSync(file, serializeKeelModel(trained.model));
    const mv = await stack.registry.createModelVersion({
      name: "loan",
      source: file,
      signature: trained.model.signature,
    });
    await stack.registry.setAlias("loan", "champion", mv.version);
    const log = { inferenceLog: { audit: "sync" } };
    served = await serve(stack, {
      features,
      clock: () => NOW,
      inferenceLog: stack.stores.servingInferenceLog,
      endpoints: [
        parseEndpointConfig({ name: "loans", model: "loan", ...log }),
        parseEndpointConfig({ name: "loans-by-id", model: "loan", featureService: "loan_default_v1", ...log }),
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await served.close();
    await features.close();
    await stack.close();
  });

  it("scores entity keys exactly as the same features sent directly, over keel's predict API and OIP V2", async () => {
    const direct = await post(`${served.url}/api/keel/endpoints/loans/predict`, { records: DIRECT });
    expect(direct.status).toBe(200);
    const want = predictScores(direct.body);
    expect(new Set(want).size).toBe(2);

    const byId = await post(
      `${served.url}/api/keel/endpoints/loans-by-id/predict`,
      {
        records: [
          { applicant_id: 1, loan_amount: 10_800 },
          { applicant_id: 2, loan_amount: 8800 },
        ],
      },
      { "x-request-id": "by-id-predict" },
    );
    expect(byId.status).toBe(200);
    expect(predictScores(byId.body)).toEqual(want);

    const oipDirect = await post(
      `${served.url}/v2/models/loans/infer`,
      oipBody(
        Object.fromEntries(
          Object.keys(DIRECT[0] as object).map((k) => [k, DIRECT.map((r) => r[k as keyof (typeof DIRECT)[0]])]),
        ),
      ),
    );
    expect(oipDirect.status).toBe(200);
    expect(inferScores(oipDirect.body)).toEqual(want);
    const oipById = await post(`${served.url}/v2/models/loans-by-id/infer`, {
      id: "by-id-oip",
      ...oipBody({ applicant_id: [1, 2], loan_amount: [10_800, 8800] }),
    });
    expect(oipById.status).toBe(200);
    expect(inferScores(oipById.body)).toEqual(want);
  });

  it("refuses an endpoint naming a feature service the repository does not have, over the endpoints API", async () => {
    const put = await fetch(`${served.url}/api/keel/endpoints/loans-by-ssn`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "loan", featureService: "loan_default_v9" }),
    });
    expect(put.status).toBe(400);
    expect(((await put.json()) as { message: string }).message).toBe(
      'endpoint.featureService = "loan_default_v9": must name a feature service of the applied feature repository (loan_default_v1)',
    );
    expect(served.serving.hasEndpoint("loans-by-ssn")).toBe(false);
  });

  it("describes what a request carries in the OIP model metadata: the join key and the request field", async () => {
    const meta = (await (await fetch(`${served.url}/v2/models/loans-by-id`)).json()) as {
      inputs: { name: string; datatype: string }[];
    };
    expect(meta.inputs).toEqual([
      { name: "applicant_id", datatype: "BYTES", shape: [-1] },
      { name: "loan_amount", datatype: "FP64", shape: [-1] },
    ]);
    const direct = (await (await fetch(`${served.url}/v2/models/loans`)).json()) as { inputs: { name: string }[] };
    expect(direct.inputs.map((i) => i.name)).toContain("credit_score");
  });

  it("logs the feature values actually served, each row under its applicant", async () => {
    const records = await stack.stores.inferenceLog.query({ requestIds: ["by-id-predict#0", "by-id-predict#1"] });
    expect(records.map((r) => r.entityId)).toEqual(["1", "2"]);
    for (const [i, r] of records.entries()) {
      const want = DIRECT[i] as Record<string, unknown>;
      for (const [name, value] of Object.entries(want)) {
        if (typeof value === "number") expect(r.features[name]).toBeCloseTo(value, 12);
        else expect(r.features[name]).toBe(value);
      }
      expect(r.time).toBe(NOW);
    }
  });

  it("checks the looked-up features against the model's signature: an applicant past the TTL is refused, naming the feature", async () => {
    const stale = await post(`${served.url}/api/keel/endpoints/loans-by-id/predict`, {
      applicant_id: 3,
      loan_amount: 5000,
    });
    expect(stale.status).toBe(400);
    expect((stale.body as { message: string }).message).toBe(
      "credit_score (served by feature service loan_default_v1) = null: is required (column credit_score is not nullable)",
    );
    const noKey = await post(`${served.url}/v2/models/loans-by-id/infer`, oipBody({ loan_amount: [5000] }));
    expect(noKey.status).toBe(400);
    expect((noKey.body as { error: string }).error).toContain("must include join key applicant_id");
  });

  it("skew: keel features skew finds 0 differing rows; a changed transformation is flagged, and monitoring pages on it", async () => {
    const records = await stack.stores.inferenceLog.query({ endpoint: "loans-by-id" });
    expect(records).toHaveLength(4);
    const refs = featureService(repo, "loan_default_v1", "feature_service").features;
    const env = { KEEL_DATA_DIR: stack.dir };
    const skew = async (): Promise<SkewReport> => {
      const r = await keelInProcess(
        [
          "--json",
          "features",
          "skew",
          "--endpoint",
          "loans-by-id",
          "--from",
          "2026-03-01T00:00:00Z",
          "--to",
          "2026-03-06T00:00:00Z",
          "--feature-service",
          "loan_default_v1",
        ],
        { env },
      );
      expect(r.stderr).toBe("");
      return JSON.parse(r.stdout) as SkewReport;
    };
    const same = await skew();
    expect(same.rows).toBe(4);
    expect(same.features.map((f) => [f.feature, f.differing, f.flagged])).toEqual(
      refs.map((r) => [r.feature, 0, false]),
    );

    // The offline definition's transformation changes; the served values were computed by the old one.
    const changed = path.join(stack.dir, "changed-features.yaml");
    writeFileSync(
      changed,
      readFileSync(path.join(FEATURES, "loan-features.yaml"), "utf8")
        .replace("path: applicant_events.csv", `path: ${path.join(FEATURES, "applicant_events.csv")}`)
        .replace("module: ./ratios.ts", `module: ${path.join(FEATURES, "ratios-changed.ts")}`),
    );
    expect((await keelInProcess(["features", "apply", changed], { env })).code).toBe(0);
    const skewed = await skew();
    expect(skewed.features.filter((f) => f.flagged).map((f) => f.feature)).toEqual(["debt_to_income"]);
    const dti = skewed.features.find((f) => f.feature === "debt_to_income");
    expect(dti).toMatchObject({ compared: 4, differing: 4, shareDiffering: 1 });
    // 12 × 950 / 54,000 served against 11 × 950 / 54,000 recomputed: the largest gap is applicant 1's.
    expect(dti?.maxAbsDelta).toBeCloseTo(950 / 54_000, 12);

    // The same check on the daily window, through the alert tiers.
    let now = Date.parse("2026-03-05T13:00:00Z");
    const monitoring = startMonitoring(stack.stores, {
      config: {
        models: [
          { name: "loan", endpoint: "loans-by-id", windows: ["daily"], skew: { featureService: "loan_default_v1" } },
        ],
        delayMinutes: 5,
        rules: [
          {
            id: "feature_skew_page",
            tier: "page",
            kind: "skew",
            metric: "share_differing",
            feature: "*",
            condition: "above",
            threshold: 0.01,
          },
        ],
      },
      clock: () => now,
      timers: { setTimeout: () => 0, clearTimeout: () => undefined },
    });
    try {
      now = Date.parse("2026-03-06T00:10:00Z");
      const runs = await monitoring.scheduler.runDue();
      const window = runs.find((r) => r.skew !== undefined);
      expect(window?.skew?.map((o) => [o.feature, o.value])).toEqual(
        refs.map((r) => [r.feature, r.feature === "debt_to_income" ? 1 : 0]),
      );
      const fired = runs.flatMap((r) => r.alerts?.fired ?? []);
      expect(fired.map((a) => [a.ruleId, a.tier, a.feature, a.endpoint])).toEqual([
        ["feature_skew_page", "page", "debt_to_income", "loans-by-id"],
      ]);
    } finally {
      await monitoring.stop();
    }
  });
});
