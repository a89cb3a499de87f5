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
import { anchorInstalled, prepareAnchor, startAnchor, startFloor } from "./serving-anchor.js";
import { generateLoans } from "./serving-data.js";
import { hasWrk, runWrk, type LoadResult } from "./serving-load.js";

/**
 * Single-row predictions over HTTP: the loan GBM (300 trees, depth 5) behind `keel server`'s
 * predict API, 32 connections (wrk, 2 threads), side by side in one run with
 *  - keel with a shadow model (the p99 cost of shadow scoring),
 *  - keel with the inference log off (what recording every decision costs),
 *  - keel returning three reason codes per decision (exact TreeSHAP on every request),
 *  - the framework floor: a minimal Node HTTP server answering a constant (no framework, no model),
 *  - the FastAPI + sklearn anchor serving the same kind of model on the same data.
 * Rounds alternate the targets so drifting machine load affects all alike; medians are reported.
 * The shadow's p99 cost is the median over rounds of the p99 ratio of the two runs of one round
 * (keel and keel+shadow back to back, in alternating order), which cancels most of the machine's
 * drift between rounds.
 */
function line(label: string, r: Summary): string {
  return `${label}: ${Math.round(r.requestsPerSecond)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (median of ${r.runs} runs, ${r.failures} failed requests)`;
}

interface Summary {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failures: number;
  readonly runs: number;
}

function med(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

/** Each figure's median over the runs (throughput, p50 and p99 separately). */
function summarize(results: readonly LoadResult[]): Summary {
  return {
    requestsPerSecond: med(results.map((r) => r.requestsPerSecond)),
    p50Ms: med(results.map((r) => r.p50Ms)),
    p99Ms: med(results.map((r) => r.p99Ms)),
    failures: results.reduce((s, r) => s + r.failures, 0),
    runs: results.length,
  };
}

export async function run(): Promise<void> {
  const rows = Number(process.env.KEEL_BENCH_SERVING_ROWS ?? 20_000);
  const seconds = Number(process.env.KEEL_BENCH_SERVING_SECONDS ?? 8);
  const rounds = Number(process.env.KEEL_BENCH_SERVING_ROUNDS ?? 6);
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
  // The first application with every field present: the anchor's request model has no nulls.
  let example = 0;
  while (Object.values(data.record(example)).includes(null)) example++;
  const body = JSON.stringify([data.record(example)]);
  const anchorBody = JSON.stringify(data.record(example));
  const targets: { label: string; url: string; body: string }[] = [];
  const stops: (() => Promise<void>)[] = [];
  const results = new Map<string, LoadResult[]>();
  try {
    await serving.putEndpoint(
      parseEndpointConfig({ name: "loans-shadow", model: "loans", shadows: [{ version: v2.version }] }),
    );
    await serving.putEndpoint(
      parseEndpointConfig({ name: "loans-nolog", model: "loans", inferenceLog: { sampleRate: 0 } }),
    );
    await serving.putEndpoint(parseEndpointConfig({ name: "loans-explain", model: "loans", explain: { top_k: 3 } }));
    targets.push(
      { label: "keel", url: `${server.url}/api/keel/endpoints/loans/predict`, body },
      { label: "keel+shadow", url: `${server.url}/api/keel/endpoints/loans-shadow/predict`, body },
      { label: "keel-nolog", url: `${server.url}/api/keel/endpoints/loans-nolog/predict`, body },
      { label: "keel+explain", url: `${server.url}/api/keel/endpoints/loans-explain/predict`, body },
    );
    const floor = await startFloor();
    stops.push(() => floor.stop());
    targets.push({ label: "floor", url: floor.url, body });
    if (anchorInstalled()) {
      prepareAnchor(dir, data, Math.min(rows, 20_000));
      const anchor = await startAnchor(dir);
      stops.push(() => anchor.stop());
      targets.push({ label: "anchor", url: anchor.url, body: anchorBody });
    } else console.log("anchor: /usr/bin/python3 with fastapi, uvicorn, sklearn and pandas not installed; skipped");

    for (const t of targets) await runWrk(t.url, t.body, { connections, seconds: 2, dir: runDir });
    for (let r = 0; r < rounds; r++) {
      // keel and keel+shadow swap places every round, so a drift along the run (the log's table
      // growing, the machine's load) weighs on both alike.
      const order = r % 2 === 0 ? targets : [targets[1], targets[0], ...targets.slice(2)];
      for (const t of order) {
        if (t === undefined) continue;
        const result = await runWrk(t.url, t.body, { connections, seconds, dir: runDir });
        results.set(t.label, [...(results.get(t.label) ?? []), result]);
      }
    }
  } finally {
    for (const stop of stops) await stop();
    await server.close();
    await model.stop();
    await stores.close();
  }

  const get = (label: string) => {
    const r = results.get(label);
    return r === undefined ? undefined : summarize(r);
  };
  const keel = get("keel") as Summary;
  const shadow = get("keel+shadow") as Summary;
  const nolog = get("keel-nolog") as Summary;
  const explain = get("keel+explain") as Summary;
  const floor = get("floor") as Summary;
  const anchor = get("anchor");
  console.log(line("keel (predict API, single row, every decision recorded)", keel));
  console.log(line("keel with one shadow model", shadow));
  console.log(line("keel with the inference log off (no decision records)", nolog));
  console.log(line("keel with three reason codes per decision (exact TreeSHAP)", explain));
  console.log(line("floor: minimal Node HTTP server answering a constant", floor));
  if (anchor) console.log(line("FastAPI + uvicorn + sklearn GBM (300 trees, depth 5), 1 worker", anchor));
  const keelRuns = results.get("keel") ?? [];
  const paired = (results.get("keel+shadow") ?? []).map((r, i) => r.p99Ms / (keelRuns[i] as LoadResult).p99Ms - 1);
  console.log(
    `shadow scoring p99 overhead: ${(med(paired) * 100).toFixed(1)} % (target <= 10 %; median of the rounds' paired ratios: ${paired.map((x) => `${(x * 100).toFixed(0)} %`).join(", ")})`,
  );
  console.log(
    `keel p99 ${keel.p99Ms.toFixed(2)} ms (target <= 5 ms; the floor's own p99 here: ${floor.p99Ms.toFixed(2)} ms)`,
  );
  console.log(
    `keel at ${((keel.requestsPerSecond / floor.requestsPerSecond) * 100).toFixed(0)} % of the floor's throughput`,
  );
  for (const [label, r] of [
    ["keel", keel],
    ["keel+shadow", shadow],
    ["keel+explain", explain],
    ["anchor", anchor],
  ] as const) {
    if (r !== undefined && r.failures > 0)
      console.log(`WARNING: ${label} failed ${r.failures} requests; its figures are not valid`);
  }
  if (anchor) {
    console.log(
      `ratio keel / anchor throughput: ${(keel.requestsPerSecond / anchor.requestsPerSecond).toFixed(1)}x (target >= 20x); floor / anchor, the most any server on this machine's Node could show: ${(floor.requestsPerSecond / anchor.requestsPerSecond).toFixed(1)}x`,
    );
  }
}
