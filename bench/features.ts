import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { KeelClient } from "../src/client/index.js";
import { loadConfig } from "../src/config.js";
import { numericColumn, sqlString, withConnection, type Column, type Signature } from "../src/data/index.js";
import {
  createFeatureRegistry,
  createRedisOnlineStore,
  createSqliteOnlineStore,
  createTransformLoader,
  getHistoricalFeatures,
  getOnlineFeatures,
  materialize,
  parseFeatureRepo,
  resolveFeatureRefs,
  type FeatureRepo,
  type OnlineStore,
} from "../src/features/index.js";
import { openStores } from "../src/open-stores.js";
import { serializeKeelModel, trainModel } from "../src/learn/index.js";
import { startModelServing } from "../src/server/model-serving.js";
import { startServer } from "../src/server/start.js";
import { parseEndpointConfig } from "../src/serving/index.js";
import { PYTHON, pythonHas } from "./anchor-env.js";
import { hasWrk, runWrk, type LoadResult } from "./serving-load.js";

/**
 * Feature store benchmarks.
 * 1. Historical retrieval: ROWS entity rows against ROWS feature rows (10 features, ROWS/10
 *    entities, 30-day TTL), CSV in and CSV out, keel's DuckDB ASOF join against pandas
 *    `merge_asof` with the same tolerance (the whole Python process, imports included).
 * 2. Online reads of one entity with 10 features: p50/p99 in-process on SQLite and Redis, and
 *    over HTTP (`POST /get-online-features`, wrk, 32 connections) on both, against the throughput
 *    of a model endpoint on the same server (features sent in the request) and of the same model
 *    served by entity key.
 * KEEL_BENCH_FEATURES_ROWS shrinks the size for a quick run.
 */
const ROWS = Number(process.env.KEEL_BENCH_FEATURES_ROWS ?? 1_000_000);
const ENTITIES = Math.max(1, Math.floor(ROWS / 10));
const TTL_SECONDS = 30 * 86_400;
const FEATURES = Array.from({ length: 10 }, (_, i) => `f${i}`);
const VIEW = "bench_applicant_stats";
const SERVICE = "bench_v1";
/** Alternating rounds of the HTTP comparison (5 s per target each). */
const ROUNDS = 3;
const REDIS_URL = "redis://127.0.0.1:6379";
const ANCHOR = fileURLToPath(new URL("./features_anchor.py", import.meta.url));

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

async function generate(dir: string): Promise<{ entities: string; features: string }> {
  const entities = path.join(dir, "entities.csv");
  const features = path.join(dir, "features.csv");
  await withConnection(async (conn) => {
    await conn.run("SELECT setseed(0.42)");
    const year = 365 * 86_400;
    await conn.run(
      `COPY (SELECT i % ${ENTITIES} AS applicant_id,
          strftime(TIMESTAMP '2025-01-01' + to_seconds(CAST(floor(random() * ${year}) AS BIGINT)), '%Y-%m-%dT%H:%M:%S') AS event_timestamp,
          ${FEATURES.map((f) => `round(random() * 1000, 3) AS ${f}`).join(", ")}
        FROM range(${ROWS}) t(i)) TO ${sqlString(features)} (FORMAT csv, HEADER true)`,
    );
    await conn.run(
      `COPY (SELECT CAST(floor(random() * ${ENTITIES}) AS BIGINT) AS applicant_id,
          strftime(TIMESTAMP '2025-01-01' + to_seconds(CAST(floor(random() * ${year}) AS BIGINT)), '%Y-%m-%dT%H:%M:%S') AS event_timestamp,
          CAST(random() < 0.1 AS INTEGER) AS label
        FROM range(${ROWS})) TO ${sqlString(entities)} (FORMAT csv, HEADER true)`,
    );
  });
  return { entities, features };
}

function repoFor(dir: string): FeatureRepo {
  return parseFeatureRepo(
    {
      entities: [{ name: "applicant", join_keys: ["applicant_id"] }],
      sources: [{ name: "stats", path: "features.csv", timestamp_field: "event_timestamp" }],
      feature_views: [
        {
          name: VIEW,
          entities: ["applicant"],
          source: "stats",
          ttl: TTL_SECONDS,
          schema: FEATURES.map((name) => ({ name, dtype: "float64" })),
        },
      ],
      feature_services: [{ name: SERVICE, features: [VIEW] }],
    },
    dir,
  );
}

async function historical(
  dir: string,
  repo: FeatureRepo,
  files: { entities: string; features: string },
): Promise<void> {
  const out = path.join(dir, "train.csv");
  const t0 = performance.now();
  const result = await getHistoricalFeatures(repo, {
    entityDf: files.entities,
    features: resolveFeatureRefs(repo, [VIEW], "features"),
    output: out,
  });
  const keel = seconds(t0);
  const matched = await withConnection(async (conn) => {
    const r = await conn.runAndReadAll(`SELECT count(f0) AS n FROM read_csv(${sqlString(out)})`);
    return Number(r.getRowObjects()[0]?.n);
  });
  console.log(
    `historical retrieval, ${ROWS} entity rows × ${ROWS} feature rows (10 features, ${ENTITIES} entities, TTL 30d), CSV → CSV: keel ${keel.toFixed(2)} s (${result.rows} rows, ${matched} with features)`,
  );
  if (!pythonHas("pandas")) {
    console.log("pandas anchor: /usr/bin/python3 with pandas not installed, skipped");
    return;
  }
  const anchorOut = path.join(dir, "train-pandas.csv");
  const t1 = performance.now();
  const text = execFileSync(PYTHON, [ANCHOR, files.entities, files.features, anchorOut, String(TTL_SECONDS)], {
    encoding: "utf8",
  });
  const wall = seconds(t1);
  const anchor = JSON.parse(text) as { seconds: number; matched: number };
  console.log(
    `pandas merge_asof (same tolerance, whole process): ${wall.toFixed(2)} s (${anchor.matched} with features) → keel/pandas = ${(keel / wall).toFixed(2)}× (target ≤ 0.5×); rows with features ${anchor.matched === matched ? "agree" : "DIFFER"}`,
  );
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

async function inProcessReads(name: string, repo: FeatureRepo, store: OnlineStore): Promise<void> {
  const src = { repo, store, now: () => Date.parse("2026-01-01T00:00:00Z"), transform: createTransformLoader() };
  const features = resolveFeatureRefs(repo, [VIEW], "features");
  const read = (id: number) => getOnlineFeatures(src, { features, entities: { applicant_id: [id] } });
  for (let i = 0; i < 2000; i++) await read(i % ENTITIES);
  const times: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const id = (i * 7919) % ENTITIES;
    const t0 = performance.now();
    await read(id);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(
    `online read, 1 entity × 10 features, in-process, ${name}: p50 ${percentile(times, 0.5).toFixed(3)} ms, p99 ${percentile(times, 0.99).toFixed(3)} ms (20,000 reads)`,
  );
}

/** A GBM over the ten features (300 trees, depth 5, as the serving benchmark's), registered as `bench`'s champion. */
async function benchModel(): Promise<{ bytes: Uint8Array; signature: Signature }> {
  const n = 5000;
  const columns: Column[] = FEATURES.map((name, j) =>
    numericColumn(
      name,
      Float64Array.from({ length: n }, (_, i) => ((i * (7919 + j * 104_729)) % 1_000_003) / 1000.003),
    ),
  );
  const f0 = (columns[0] as { values: Float64Array }).values;
  const f1 = (columns[1] as { values: Float64Array }).values;
  const label = Float64Array.from({ length: n }, (_, i) => ((f0[i] as number) + (f1[i] as number) > 1000 ? 1 : 0));
  const trained = await trainModel(
    { nRows: n, columns: [...columns, numericColumn("label", label)] },
    { target: "label", params: { n_estimators: 300, max_depth: 5, learning_rate: 0.05, seed: 0 } },
  );
  return { bytes: new TextEncoder().encode(serializeKeelModel(trained.model)), signature: trained.model.signature };
}

/**
 * Over HTTP on one `keel server` (wrk, 32 connections, rounds alternating the targets): Feast's
 * `/get-online-features` for one entity, the model endpoint with the ten features sent in the
 * request, and the same model served by entity key (features looked up, then scored).
 */
async function httpReads(
  name: string,
  dir: string,
  repo: FeatureRepo,
  model: { bytes: Uint8Array; signature: Signature },
  redisUrl?: string,
): Promise<void> {
  if (!hasWrk()) {
    console.log(`online reads over HTTP (${name}): wrk not installed, skipped`);
    return;
  }
  const config = loadConfig({
    flags: { dataDir: dir, port: 0, host: "127.0.0.1", logLevel: "silent", redisUrl },
    env: {},
  });
  const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  await stores.migrate();
  await createFeatureRegistry(stores.metadata).apply(repo, { sourceFile: "bench", actor: "bench" });
  await stores.artifacts.putFile("models/bench/model.json", model.bytes);
  const mv = await stores.registry.createModelVersion({
    name: "bench",
    source: "mlflow-artifacts:/models/bench/model.json",
    checksum: createHash("sha256").update(model.bytes).digest("hex"),
    signature: model.signature,
  });
  await stores.registry.setAlias("bench", "champion", mv.version);
  const serving = await startModelServing(stores, config);
  await serving.serving.putEndpoint(
    parseEndpointConfig({ name: "bench-by-id", model: "bench", featureService: SERVICE }),
  );
  const server = await startServer({ config, stores, serving: serving.serving, features: serving.features });
  try {
    const client = new KeelClient({ baseUrl: server.url });
    const t0 = performance.now();
    const done = await client.materializeFeatures({ start_ts: "2025-01-01T00:00:00Z", end_ts: "2026-01-01T00:00:00Z" });
    console.log(
      `materialize over HTTP (${name}): ${done.materialized[0]?.rows ?? 0} entities in ${seconds(t0).toFixed(2)} s`,
    );
    // Entity 42 gets a fresh row, so reads by entity key find it within the TTL at the server's clock.
    const values = Object.fromEntries(FEATURES.map((f, j) => [f, 100 + 50 * j]));
    await client.pushFeatures({
      push_source_name: "stats",
      df: {
        applicant_id: [42],
        event_timestamp: [new Date().toISOString()],
        ...Object.fromEntries(Object.entries(values).map(([f, v]) => [f, [v]])),
      },
    });
    const targets = [
      {
        label: `online read over HTTP (/get-online-features), ${name}`,
        url: `${server.url}/get-online-features`,
        body: JSON.stringify({ features: [VIEW], entities: { applicant_id: [42] } }),
      },
      {
        label: `serving endpoint, features sent in the request (predict API)`,
        url: `${server.url}/api/keel/endpoints/bench/predict`,
        body: JSON.stringify([values]),
      },
      {
        label: `serving endpoint by entity key (features looked up on ${name}, then scored)`,
        url: `${server.url}/api/keel/endpoints/bench-by-id/predict`,
        body: JSON.stringify([{ applicant_id: 42 }]),
      },
    ];
    // Rounds alternate the three targets so the machine's drifting load weighs on all alike; medians are reported.
    for (const t of targets) await runWrk(t.url, t.body, { connections: 32, seconds: 2, dir });
    const runs: LoadResult[][] = targets.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, t] of targets.entries())
        runs[i]?.push(await runWrk(t.url, t.body, { connections: 32, seconds: 5, dir }));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const results = runs.map((r) => ({
      requestsPerSecond: median(r.map((x) => x.requestsPerSecond)),
      p50Ms: median(r.map((x) => x.p50Ms)),
      p99Ms: median(r.map((x) => x.p99Ms)),
      failures: r.reduce((n, x) => n + x.failures, 0),
    }));
    results.forEach((r, i) =>
      console.log(
        `${targets[i]?.label}, 32 connections: ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (median of ${ROUNDS} runs of 5 s, ${r.failures} failures)`,
      ),
    );
    const rate = (i: number) => results[i]?.requestsPerSecond ?? Number.NaN;
    const [reads, direct, byId] = [rate(0), rate(1), rate(2)];
    console.log(
      `${name}: online reads at ${(reads / direct).toFixed(2)}× the serving endpoint's throughput (target ≥ 1×); serving by entity key at ${(byId / direct).toFixed(2)}× of features sent in the request`,
    );
  } finally {
    await server.close();
    await serving.stop();
    await stores.close();
  }
}

async function dropRedisKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 10_000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  await redis.quit();
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "keel-bench-features-"));
  try {
    const files = await generate(dir);
    const repo = repoFor(dir);
    await historical(dir, repo, files);

    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "a"),
    });
    await stores.migrate();
    const registry = createFeatureRegistry(stores.metadata);
    const window = { start: Date.parse("2025-01-01T00:00:00Z"), end: Date.parse("2026-01-01T00:00:00Z") };
    const sqlite = createSqliteOnlineStore(path.join(dir, "online-bench.db"));
    const redis = createRedisOnlineStore(REDIS_URL, { prefix: "keel-bench:features:" });
    try {
      for (const [name, store] of [
        ["SQLite", sqlite],
        ["Redis", redis],
      ] as const) {
        const t0 = performance.now();
        const [done] = await materialize(repo, registry, store, window);
        console.log(`materialize ${name}: ${done?.rows ?? 0} entities in ${seconds(t0).toFixed(2)} s`);
        await inProcessReads(name, repo, store);
      }
    } finally {
      await sqlite.close();
      await redis.close();
      await stores.close();
      await dropRedisKeys("keel-bench:features:*");
    }
    const model = await benchModel();
    await httpReads("SQLite", path.join(dir, "http-sqlite"), repo, model);
    await httpReads("Redis", path.join(dir, "http-redis"), repo, model, REDIS_URL);
    await dropRedisKeys(`keel:features:${VIEW}:*`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
