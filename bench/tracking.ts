import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { openStores, type Stores } from "../src/open-stores.js";
import type { LatestMetricsTable, MetricsTable, RunKeyValueTable, RunsTable } from "../src/store/schema.js";
import type { Metric } from "../src/tracking/types.js";

/**
 * Tracking on SQLite: log-batch ingest (metric points/s through the TrackingStore, 1000 points per
 * batch, each batch one durable transaction) and run search at scale (100,000 runs with params and
 * metrics; a metric and a param filter, order by a metric, first page of 100). The search data is
 * bulk-loaded straight into the tables (the store's own write path is what the ingest figure measures).
 * Knobs: KEEL_BENCH_TRACKING_RUNS (default 100000), KEEL_BENCH_TRACKING_BATCHES (default 200).
 */
const SEARCH_TARGET_MS = 200;
const INGEST_TARGET = 20_000;

/** Deterministic PRNG so every run searches the same data. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function freshStores(dir: string): Stores {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return openStores({
    backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
    artifactRoot: path.join(dir, "artifacts"),
  });
}

async function ingest(root: string, batches: number): Promise<void> {
  const stores = freshStores(path.join(root, "ingest"));
  try {
    await stores.migrate();
    const run = await stores.tracking.createRun({ experimentId: "0", runName: "ingest" });
    const keys = Array.from({ length: 10 }, (_, i) => `metric_${i}`);
    const makeBatch = (b: number): Metric[] => {
      const out: Metric[] = [];
      for (let s = 0; s < 100; s++) {
        const step = b * 100 + s;
        for (const key of keys)
          out.push({ key, value: Math.sin(step) + key.length, timestamp: 1_700_000_000_000 + step, step });
      }
      return out;
    };
    await stores.tracking.logBatch(run.info.runId, { metrics: makeBatch(0) });
    const t0 = performance.now();
    for (let b = 1; b <= batches; b++) await stores.tracking.logBatch(run.info.runId, { metrics: makeBatch(b) });
    const seconds = (performance.now() - t0) / 1000;
    const points = batches * 1000;
    const rate = points / seconds;
    const history = await stores.tracking.getMetricHistory(run.info.runId, "metric_3");
    console.log(
      `log-batch ingest (SQLite, WAL, synchronous=FULL): ${points} points in ${batches} batches, ${seconds.toFixed(2)} s → ${Math.round(rate)} points/s (target ≥ ${INGEST_TARGET}) ${rate >= INGEST_TARGET ? "OK" : "BELOW TARGET"}; history check ${history.items.length === (batches + 1) * 100 ? "ok" : "WRONG"}`,
    );
  } finally {
    await stores.close();
  }
}

/** Inserts `runs` runs (3 params, 3 metrics, 1 tag each) straight into the tables, 500 per transaction. */
export async function bulkLoad(stores: Stores, experimentId: number, runs: number): Promise<void> {
  const db = stores.metadata.db;
  const rnd = mulberry32(42);
  const models = ["gbdt", "linear", "forest"];
  const CHUNK = 500;
  for (let start = 0; start < runs; start += CHUNK) {
    const n = Math.min(CHUNK, runs - start);
    const runRows: RunsTable[] = [];
    const params: RunKeyValueTable[] = [];
    const tags: RunKeyValueTable[] = [];
    const metrics: MetricsTable[] = [];
    const latest: LatestMetricsTable[] = [];
    for (let i = start; i < start + n; i++) {
      const runId = i.toString(16).padStart(32, "0");
      const startTime = 1_700_000_000_000 + i * 1000;
      runRows.push({
        run_uuid: runId,
        name: `run-${i}`,
        experiment_id: experimentId,
        user_id: "bench",
        status: "FINISHED",
        start_time: startTime,
        end_time: startTime + 500,
        artifact_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
        lifecycle_stage: "active",
        deleted_time: null,
      });
      params.push(
        { run_uuid: runId, key: "model", value: models[Math.floor(rnd() * 3)] as string },
        { run_uuid: runId, key: "max_depth", value: String(3 + Math.floor(rnd() * 6)) },
        { run_uuid: runId, key: "learning_rate", value: (0.01 + rnd() * 0.3).toFixed(3) },
      );
      tags.push({ run_uuid: runId, key: "mlflow.runName", value: `run-${i}` });
      for (const [key, value] of [
        ["auc", 0.5 + rnd() * 0.5],
        ["logloss", rnd()],
        ["f1", rnd()],
      ] as const) {
        const row = { run_uuid: runId, key, value, is_nan: 0, timestamp: startTime + 400, step: 10 };
        metrics.push({ ...row, model_id: null, dataset_name: null, dataset_digest: null });
        latest.push(row);
      }
    }
    await db.transaction().execute(async (tx) => {
      await tx.insertInto("runs").values(runRows).execute();
      await tx.insertInto("params").values(params).execute();
      await tx.insertInto("tags").values(tags).execute();
      await tx.insertInto("metrics").values(metrics).execute();
      await tx.insertInto("latest_metrics").values(latest).execute();
    });
  }
}

async function search(root: string, runs: number): Promise<void> {
  const stores = freshStores(path.join(root, "search"));
  try {
    await stores.migrate();
    const exp = await stores.tracking.createExperiment("search-bench");
    const t0 = performance.now();
    await bulkLoad(stores, Number(exp), runs);
    console.log(
      `bulk-loaded ${runs} runs (3 params, 3 metrics, 1 tag each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const query = {
      experimentIds: [exp],
      filter: "metrics.auc > 0.8 and params.model = 'gbdt'",
      orderBy: ["metrics.auc DESC"],
      maxResults: 100,
    };
    const first = await stores.tracking.searchRuns(query);
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const s = performance.now();
      await stores.tracking.searchRuns(query);
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? Number.NaN;
    const aucs = first.items.map((r) => r.data.metrics.find((m) => m.key === "auc")?.value ?? Number.NaN);
    const ordered = aucs.every((v, i) => i === 0 || v <= (aucs[i - 1] ?? Infinity));
    const filtered = first.items.every(
      (r) =>
        r.data.params.some((p) => p.key === "model" && p.value === "gbdt") &&
        (r.data.metrics.find((m) => m.key === "auc")?.value ?? 0) > 0.8,
    );
    console.log(
      `run search (SQLite, ${runs} runs): "${query.filter}" order by metrics.auc DESC, first page of ${first.items.length}: median ${median.toFixed(1)} ms, min ${times[0]?.toFixed(1)} ms over ${times.length} runs (target < ${SEARCH_TARGET_MS} ms) ${median < SEARCH_TARGET_MS ? "OK" : "ABOVE TARGET"}; results ${ordered && filtered && first.items.length === 100 ? "checked" : "WRONG"}`,
    );
    const timed = async (label: string, q: Parameters<Stores["tracking"]["searchRuns"]>[0]) => {
      const s = performance.now();
      await stores.tracking.searchRuns(q);
      console.log(`  ${label}: ${(performance.now() - s).toFixed(1)} ms`);
    };
    await timed("second page", { ...query, pageToken: first.nextPageToken });
    await timed("param filter, order by another metric (metrics.f1 ASC)", {
      experimentIds: [exp],
      filter: "params.model = 'gbdt'",
      orderBy: ["metrics.f1 ASC"],
      maxResults: 100,
    });
    await timed("no filter, order by a param (params.max_depth DESC)", {
      experimentIds: [exp],
      orderBy: ["params.max_depth DESC"],
      maxResults: 100,
    });
    console.log(
      "  anchor: none on this machine (MLflow's users report minutes at 30,000 runs); the target is absolute",
    );
  } finally {
    await stores.close();
  }
}

export async function run(): Promise<void> {
  const runs = Number(process.env.KEEL_BENCH_TRACKING_RUNS ?? 100_000);
  const batches = Number(process.env.KEEL_BENCH_TRACKING_BATCHES ?? 200);
  const root = path.resolve(".bench-data/tracking");
  await ingest(root, batches);
  await search(root, runs);
}
