import { createHash } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../src/config.js";
import type { Column, Frame } from "../src/data/frame.js";
import { serializeKeelModel } from "../src/learn/keel-model.js";
import { trainModel } from "../src/learn/train.js";
import { openStores } from "../src/open-stores.js";
import { startServer } from "../src/server/start.js";
import { startModelServing } from "../src/server/model-serving.js";
import { parseEndpointConfig } from "../src/serving/index.js";
import { anchorInstalled, prepareAnchor, runAnchor } from "./serving-anchor.js";
import { generateLoans } from "./serving-data.js";
import { hasWrk, runWrk, type LoadResult } from "./serving-load.js";

/**
 * Single-row predictions over HTTP: the loan GBM (300 trees, depth 5) behind `keel server`'s
 * predict API, 32 connections (wrk, 2 threads), against the FastAPI + sklearn anchor serving the
 * same kind of model on the same data; then the p99 cost of adding a shadow model.
 */
function line(label: string, r: LoadResult): string {
  return `${label}: ${Math.round(r.requestsPerSecond)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (${r.requests} requests, ${r.failures} failed)`;
}

/** The run with the median p99 (its own throughput and p50 kept with it). */
function median(results: readonly LoadResult[]): LoadResult {
  const sorted = [...results].sort((a, b) => a.p99Ms - b.p99Ms);
  return sorted[Math.floor(sorted.length / 2)] as LoadResult;
}

export async function run(): Promise<void> {
  const rows = Number(process.env.KEEL_BENCH_SERVING_ROWS ?? 20_000);
  const seconds = Number(process.env.KEEL_BENCH_SERVING_SECONDS ?? 10);
  const rounds = Number(process.env.KEEL_BENCH_SERVING_ROUNDS ?? 3);
  const connections = 32;
  if (!hasWrk()) {
    console.log("serving: wrk (Debian package wrk) is not installed; skipped");
    return;
  }
  const dir = path.resolve(".bench-data/serving");
  mkdirSync(dir, { recursive: true });
  const data = generateLoans(rows);

  // keel's model: the loan GBM trained by keel itself on the generated applications.
  const frame: Frame = {
    nRows: data.frame.nRows,
    columns: [...data.frame.columns, { kind: "numeric", name: "default", values: data.label } satisfies Column],
  };
  const t0 = performance.now();
  const trained = await trainModel(frame, {
    target: "default",
    params: { n_estimators: 300, max_depth: 5, learning_rate: 0.05, subsample: 0.8, seed: 0 },
    validFraction: 0.2,
  });
  console.log(
    `loan GBM: 300 trees, depth 5, trained on ${trained.nTrain} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s, validation AUC ${trained.metrics.auc?.toFixed(4)}`,
  );
  const bytes = new TextEncoder().encode(serializeKeelModel(trained.model));
  const checksum = createHash("sha256").update(bytes).digest("hex");

  // A fresh embedded store per run: the model goes into the artifact store and the registry as a
  // user's would, and `keel server`'s own wiring serves it.
  const runDir = path.join(dir, `run-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const config = loadConfig({ flags: { port: 0, dataDir: runDir, logLevel: "silent" }, env: {} });
  const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  await stores.migrate();
  await stores.artifacts.putFile("models/loans/model.json", bytes);
  const source = "mlflow-artifacts:/models/loans/model.json";
  const v1 = await stores.registry.createModelVersion({
    name: "loans",
    source,
    checksum,
    signature: trained.model.signature,
  });
  const v2 = await stores.registry.createModelVersion({
    name: "loans",
    source,
    checksum,
    signature: trained.model.signature,
  });
  await stores.registry.setAlias("loans", "champion", v1.version);
  const model = await startModelServing(stores, config);
  const serving = model.serving;
  const server = await startServer({ config, stores, serving });
  const body = JSON.stringify([data.record(3)]);
  const url = `${server.url}/api/keel/endpoints/loans/predict`;
  let keel: LoadResult;
  let shadow: LoadResult;
  try {
    // A second endpoint on the same champion adds a shadow; rounds alternate the two so drifting
    // machine load affects both alike, and the medians are compared.
    await serving.putEndpoint(
      parseEndpointConfig({ name: "loans-shadow", model: "loans", shadows: [{ version: v2.version }] }),
    );
    const shadowUrl = `${server.url}/api/keel/endpoints/loans-shadow/predict`;
    await runWrk(url, body, { connections, seconds: 3, dir: runDir });
    const plain: LoadResult[] = [];
    const shadowed: LoadResult[] = [];
    for (let r = 0; r < rounds; r++) {
      plain.push(await runWrk(url, body, { connections, seconds, dir: runDir }));
      shadowed.push(await runWrk(shadowUrl, body, { connections, seconds, dir: runDir }));
    }
    keel = median(plain);
    shadow = median(shadowed);
    console.log(line(`keel (predict API, single row, median of ${rounds} runs)`, keel));
    console.log(line(`keel with one shadow model (median of ${rounds} runs)`, shadow));
    const overhead = shadow.p99Ms / keel.p99Ms - 1;
    console.log(`shadow scoring p99 overhead: ${(overhead * 100).toFixed(1)} % (target <= 10 %)`);
  } finally {
    await server.close();
    await model.stop();
    await stores.close();
  }
  console.log(`keel p99 ${keel.p99Ms.toFixed(2)} ms (target <= 5 ms)`);

  if (!anchorInstalled()) {
    console.log("anchor: /usr/bin/python3 with fastapi, uvicorn, sklearn and pandas not installed; skipped");
    return;
  }
  prepareAnchor(dir, data, Math.min(rows, 20_000));
  const anchor = await runAnchor(dir, 8701, JSON.stringify(data.record(3)), { connections, seconds });
  console.log(line("FastAPI + uvicorn + sklearn GBM (300 trees, depth 5), 1 worker", anchor));
  console.log(
    `ratio keel / anchor throughput: ${(keel.requestsPerSecond / anchor.requestsPerSecond).toFixed(1)}x (target >= 20x); p99 ${keel.p99Ms.toFixed(2)} vs ${anchor.p99Ms.toFixed(2)} ms`,
  );
}
