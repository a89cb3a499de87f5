import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSqliteOnlineStore } from "../../src/features/index.js";
import { openStores } from "../../src/open-stores.js";
import { keelInProcess } from "./helpers.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../features/fixtures");
const REPO_FILE = path.join(FIXTURES, "loan-features.yaml");

describe("keel features apply | list | describe", () => {
  let dir: string;
  let run: (args: string[]) => ReturnType<typeof keelInProcess>;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-features-cli-"));
    run = (args) => keelInProcess(["--data-dir", dir, ...args], { cwd: dir });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("registers a repository as versions, audited, and lists and describes it", async () => {
    const first = await run(["features", "apply", REPO_FILE]);
    expect(first.stderr).toBe("");
    expect(first.stdout).toContain("as feature repository version 1 (1 entities, 1 sources, 1 feature views");
    const again = await run(["features", "apply", REPO_FILE]);
    expect(again.stdout).toContain("is unchanged: feature repository version 1");

    const list = await run(["--json", "features", "list"]);
    const listed = JSON.parse(list.stdout) as { version: number; objects: { kind: string; name: string }[] };
    expect(listed.version).toBe(1);
    expect(listed.objects.map((o) => `${o.kind}:${o.name}`)).toEqual([
      "entity:applicant",
      "source:applicant_events",
      "feature_view:applicant_features",
      "on_demand_feature_view:ratios",
      "feature_service:loan_default_v1",
    ]);

    const described = await run(["--json", "features", "describe", "applicant_features"]);
    const fv = JSON.parse(described.stdout) as { kind: string; definition: { ttlSeconds: number } };
    expect(fv).toMatchObject({ kind: "feature_view", definition: { ttlSeconds: 7_776_000 } });

    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    const audit = await stores.audit.list({ targetType: "feature_repo" });
    await stores.close();
    expect(audit.map((a) => [a.action, a.targetId])).toEqual([["feature_repo.apply", "1"]]);
  });

  it("writes a point-in-time training set from the applied repository", async () => {
    await run(["features", "apply", REPO_FILE]);
    const out = path.join(dir, "train.csv");
    const r = await run([
      "features",
      "historical",
      "--entity-df",
      path.join(FIXTURES, "labels.csv"),
      "--features",
      "applicant_features:credit_score,applicant_features:home_ownership",
      "--output",
      out,
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`wrote 5 rows × 5 columns to ${out} (feature repository version 1)\n`);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines).toEqual([
      "applicant_id,event_timestamp,defaulted,credit_score,home_ownership",
      "1,2026-02-01 00:00:00,0,640,RENT",
      // Two rows at 2026-03-01: the later created one wins.
      "1,2026-03-05 00:00:00,1,660,RENT",
      // Before the applicant's first row, past the 90-day TTL, and an unknown applicant.
      "2,2026-02-14 00:00:00,0,,",
      "3,2026-01-15 00:00:00,1,,",
      "9,2026-03-01 00:00:00,0,,",
    ]);
    const both = await run(["features", "historical", "--entity-df", "x.csv", "--output", out]);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe("error: --features = null: give exactly one of --features or --feature-service\n");
    const twice = await run([
      "features",
      "historical",
      "--entity-df",
      "x.csv",
      "--output",
      out,
      "--features",
      "applicant_features",
      "--feature-service",
      "loan_default_v1",
    ]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toBe(
      'error: --features = ["applicant_features"]: give exactly one of --features or --feature-service\n',
    );
  });

  it("materializes into the embedded online store, then continues incrementally", async () => {
    await run(["features", "apply", REPO_FILE]);
    const first = await run([
      "features",
      "materialize",
      "--start",
      "2025-01-01T00:00:00Z",
      "--end",
      "2026-02-01T00:00:00Z",
    ]);
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe(
      "applicant_features: 2 entities from 2025-01-01T00:00:00.000Z to 2026-02-01T00:00:00.000Z\n",
    );
    const next = await run(["--json", "features", "materialize-incremental", "--end", "2026-04-01T00:00:00Z"]);
    expect(JSON.parse(next.stdout)).toEqual([
      {
        featureView: "applicant_features",
        start: Date.parse("2026-02-01T00:00:00Z"),
        end: Date.parse("2026-04-01T00:00:00Z"),
        rows: 2,
      },
    ]);
    const store = createSqliteOnlineStore(path.join(dir, "online-features.db"));
    const rows = await store.read("applicant_features", ["1", "2", "3"]);
    await store.close();
    expect(rows.map((r) => r?.values.credit_score)).toEqual([660, 720, 580]);
    const bad = await run(["features", "materialize", "--start", "yesterday", "--end", "2026-01-01"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--start = "yesterday": must be epoch milliseconds (an integer) or an ISO-8601 time');
  });

  it("reports skew between logged features and point-in-time recomputation", async () => {
    await run(["features", "apply", REPO_FILE]);
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    const base = {
      endpoint: "loans",
      modelName: "loan-default",
      modelVersion: "1",
      route: "champion",
      outputs: { score: 0.1 },
      latencyMs: 1,
    };
    await stores.inferenceLog.append(
      [
        {
          ...base,
          requestId: "a",
          time: Date.parse("2026-03-05T00:00:00Z"),
          entityId: "1",
          features: { credit_score: 660 },
        },
        {
          ...base,
          requestId: "b",
          time: Date.parse("2026-02-20T00:00:00Z"),
          entityId: "2",
          features: { credit_score: 700 },
        },
      ],
      { durability: "sync" },
    );
    await stores.close();
    const r = await run([
      "--json",
      "features",
      "skew",
      "--endpoint",
      "loans",
      "--from",
      "2026-01-01T00:00:00Z",
      "--to",
      "2026-04-01T00:00:00Z",
      "--features",
      "applicant_features:credit_score",
      "--threshold",
      "0.1",
    ]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({
      rows: 2,
      withoutEntity: 0,
      threshold: 0.1,
      features: [
        { feature: "credit_score", compared: 2, differing: 1, shareDiffering: 0.5, maxAbsDelta: 20, flagged: true },
      ],
    });
  });

  it("exits 2 with one line naming the field, the value and the rule", async () => {
    const bad = path.join(dir, "bad.yaml");
    writeFileSync(
      bad,
      "entities: [{ name: applicant, join_keys: [applicant_id] }]\nfeature_views: [{ name: v, entities: [driver], source: s, schema: [{ name: x, dtype: int64 }] }]\n",
    );
    const r = await run(["features", "apply", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: feature_views[0].entities[0] = "driver": must name an entity\n');
    const remote = await run(["--tracking-uri", "http://127.0.0.1:9", "features", "list"]);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(
      /^error: --tracking-uri = "http:\/\/127\.0\.0\.1:9": keel features works on the local store/,
    );
    const missing = await run(["features", "describe", "nothing"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no feature repository has been applied");
  });
});
