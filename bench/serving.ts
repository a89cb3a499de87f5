import { createHash } from "node:crypto";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../src/config.js";
import type { Column, Frame } from "../src/data/frame.js";
import { serializeKeelModel } from "../src/learn/keel-model.js";
import { trainModel } from "../src/learn/train.js";
import { openStores } from "../src/open-stores.js";
import type { Signature } from "../src/data/index.js";
import { anchorInstalled, prepareAnchor, startAnchor, startFloor, startServingProcess } from "./serving-anchor.js";
import { generateLoans } from "./serving-data.js";
import { PACED_DELAY_MS, hasWrk, pacedConnections, runWrk, type LoadResult } from "./serving-load.js";

/** The paced load's rate (req/s) and the targets run at it. */
const PACE_RATE = 2000;
const PACED: readonly string[] = ["keel", "keel+shadow", "keel-nolog", "keel-oip", "floor"];

/**
 * Single-row predictions over HTTP: the loan GBM (300 trees, depth 5) behind `keel server`'s
 * predict API, 32 connections (wrk, 2 threads), side by side in one run with
 *  - keel with a shadow model (the p99 cost of shadow scoring),
 *  - keel with the inference log off (what recording every decision costs),
 *  - keel returning three reason codes per decision (exact TreeSHAP on every request),
 *  - the framework floor: a minimal Node HTTP server answering a constant (no framework, no model),
 *    at once or deferred to setImmediate; per round the faster of the two is the floor,
 *  - the FastAPI + sklearn anchor serving the same kind of model on the same data.
 * Rounds alternate the targets so drifting machine load affects all alike; medians are reported.
 * The shadow's p99 cost is the median over rounds of the p99 ratio of the two runs of one round
 * (keel and keel+shadow back to back, in alternating order), which cancels most of the machine's
 * drift between rounds. It is given at saturation, where the shadow's CPU lengthens every queue,
 * and at the paced load, where it shows what the shadow adds to an answer's own latency.
 */
function line(label: string, r: Summary): string {
  const cpu = r.cpuUsPerRequest === undefined ? "" : `, server CPU ${r.cpuUsPerRequest.toFixed(1)} µs/request`;
  return `${label}: ${Math.round(r.requestsPerSecond)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms${cpu} (median of ${r.runs} runs, ${r.failures} failed requests)`;
}

interface Summary {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerRequest: number | undefined;
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
    cpuUsPerRequest: results.some((r) => r.cpuUsPerRequest === undefined)
      ? undefined
      : med(results.map((r) => r.cpuUsPerRequest as number)),
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
  // user's would, and `keel server`'s own wiring serves it, in a process of its own.
  const runDir = path.join(dir, `run-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const config = loadConfig({ flags: { port: 0, dataDir: runDir, logLevel: "silent" }, env: {} });
  const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  await stores.migrate();
  await stores.artifacts.putFile("models/loans/model.json", bytes);
  const source = "mlflow-artifacts:/models/loans/model.json";
  const register = () =>
    stores.registry.createModelVersion({ name: "loans", source, checksum, signature: trained.model.signature });
  const v1 = await register();
  const v2 = await register();
  await stores.registry.setAlias("loans", "champion", v1.version);
  await stores.close();
  // KEEL_BENCH_SERVING_BASELINE=DIR: another checkout of keel (with this benchmark) serves a copy of
  // the store too, and its keel, keel-nolog and keel-oip run in the same rounds, as "base:" targets.
  const baselineCheckout = process.env.KEEL_BENCH_SERVING_BASELINE;
  if (baselineCheckout !== undefined) cpSync(runDir, `${runDir}-base`, { recursive: true });
  const server = await startServingProcess(runDir, v2.version);
  const baseline =
    baselineCheckout === undefined
      ? undefined
      : await startServingProcess(`${runDir}-base`, v2.version, path.resolve(baselineCheckout));
  // The first application with every field present: the anchor's request model has no nulls.
  let example = 0;
  while (Object.values(data.record(example)).includes(null)) example++;
  const record = data.record(example);
  const body = JSON.stringify([record]);
  const anchorBody = JSON.stringify(record);
  const targets: { label: string; url: string; body: string; pid: number | undefined }[] = [];
  const stops: (() => Promise<void>)[] = [];
  const results = new Map<string, LoadResult[]>();
  const paced = new Map<string, LoadResult[]>();
  // KEEL_BENCH_SERVING_TARGETS=keel,floor runs only those (e.g. to profile one route).
  const only = process.env.KEEL_BENCH_SERVING_TARGETS?.split(",");
  let serverRss: number | undefined;
  try {
    targets.push(
      { label: "keel", url: `${server.url}/api/keel/endpoints/loans/predict`, body, pid: server.pid },
      { label: "keel+shadow", url: `${server.url}/api/keel/endpoints/loans-shadow/predict`, body, pid: server.pid },
      { label: "keel-nolog", url: `${server.url}/api/keel/endpoints/loans-nolog/predict`, body, pid: server.pid },
      { label: "keel+explain", url: `${server.url}/api/keel/endpoints/loans-explain/predict`, body, pid: server.pid },
      {
        label: "keel-oip",
        url: `${server.url}/v2/models/loans/infer`,
        body: oipInferBody(trained.model.signature, record),
        pid: server.pid,
      },
    );
    if (baseline !== undefined) {
      for (const t of targets.filter((x) => ["keel", "keel-nolog", "keel-oip"].includes(x.label)))
        targets.push({
          ...t,
          label: `base:${t.label}`,
          url: t.url.replace(server.url, baseline.url),
          pid: baseline.pid,
        });
    }
    for (const deferred of [false, true]) {
      const floor = await startFloor(deferred);
      stops.push(() => floor.stop());
      targets.push({ label: deferred ? "floor-deferred" : "floor", url: floor.url, body, pid: floor.pid });
    }
    const wantAnchor = only === undefined || only.includes("anchor");
    if (wantAnchor && anchorInstalled()) {
      prepareAnchor(dir, data, Math.min(rows, 20_000));
      const anchor = await startAnchor(dir);
      stops.push(() => anchor.stop());
      targets.push({ label: "anchor", url: anchor.url, body: anchorBody, pid: anchor.pid });
    } else if (wantAnchor)
      console.log("anchor: /usr/bin/python3 with fastapi, uvicorn, sklearn and pandas not installed; skipped");

    if (only !== undefined)
      targets.splice(0, targets.length, ...targets.filter((t) => only.includes(t.label.replace(/^base:/, ""))));
    for (const t of targets) await runWrk(t.url, t.body, { connections, seconds: 2, dir: runDir });
    // The paced runs' connections: enough for PACE_RATE req/s at each target's latency at that pace.
    const pacedTargets = targets.filter((t) => PACED.includes(t.label));
    const pacing = new Map<string, number>();
    for (const t of pacedTargets) {
      const pilot = await runWrk(t.url, t.body, { connections: 16, seconds: 2, dir: runDir, delayMs: PACED_DELAY_MS });
      pacing.set(t.label, pacedConnections(PACE_RATE, 16, pilot.requestsPerSecond));
    }
    for (let r = 0; r < rounds; r++) {
      // keel and keel+shadow swap places every round, so a drift along the run (the log's table
      // growing, the machine's load) weighs on both alike.
      const order = r % 2 === 0 ? targets : [targets[1], targets[0], ...targets.slice(2)];
      for (const t of order) {
        if (t === undefined) continue;
        const result = await runWrk(t.url, t.body, { connections, seconds, dir: runDir, pid: t.pid });
        results.set(t.label, [...(results.get(t.label) ?? []), result]);
      }
      for (const t of pacedTargets) {
        const c = pacing.get(t.label) ?? 16;
        const result = await runWrk(t.url, t.body, {
          connections: c,
          seconds,
          dir: runDir,
          delayMs: PACED_DELAY_MS,
          pid: t.pid,
        });
        paced.set(t.label, [...(paced.get(t.label) ?? []), result]);
        // Keep the pace near PACE_RATE: the next round's connections from this run's rate.
        pacing.set(t.label, pacedConnections(PACE_RATE, c, result.requestsPerSecond));
      }
    }
  } finally {
    for (const stop of stops) await stop();
    serverRss = await server.stop();
    await baseline?.stop();
  }

  report(results, paced, serverRss);
}

const LABELS: readonly (readonly [string, string])[] = [
  ["keel", "keel (predict API, single row, every decision recorded)"],
  ["keel+shadow", "keel with one shadow model"],
  ["keel-nolog", "keel with the inference log off (no decision records)"],
  ["keel+explain", "keel with three reason codes per decision (exact TreeSHAP)"],
  ["keel-oip", "keel, Open Inference Protocol (/v2/models/loans/infer), every decision recorded"],
  ["floor", "floor: minimal Node HTTP server answering a constant at once"],
  ["floor-deferred", "floor: the same, answering in setImmediate (as a batching server does)"],
  ["anchor", "FastAPI + uvicorn + sklearn GBM (300 trees, depth 5), 1 worker"],
];

/** Per round, the floor server that served more requests per second (either list may be empty). */
function fasterFloor(atOnce: readonly LoadResult[], deferred: readonly LoadResult[]): LoadResult[] {
  const n = Math.max(atOnce.length, deferred.length);
  return Array.from({ length: n }, (_, i) => {
    const a = atOnce[i];
    const d = deferred[i];
    if (a === undefined || d === undefined) return (a ?? d) as LoadResult;
    return d.requestsPerSecond > a.requestsPerSecond ? d : a;
  });
}

/** Per round, `a`'s figure over `b`'s of the same round. */
function roundRatios(a: readonly LoadResult[], b: readonly LoadResult[], f: (r: LoadResult) => number): number[] {
  return a.flatMap((r, i) => (b[i] === undefined ? [] : [f(r) / f(b[i])]));
}

const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

function report(
  results: ReadonlyMap<string, LoadResult[]>,
  paced: ReadonlyMap<string, LoadResult[]>,
  serverRss: number | undefined,
): void {
  const all = [...LABELS, ...LABELS.map(([l, n]) => [`base:${l}`, `baseline checkout: ${n}`] as const)];
  for (const [label, name] of all) {
    const r = results.get(label);
    if (r === undefined) continue;
    const s = summarize(r);
    console.log(line(name, s));
    if (s.failures > 0) console.log(`WARNING: ${label} failed ${s.failures} requests; its figures are not valid`);
  }
  const keel = results.get("keel") ?? [];
  const deferredRuns = results.get("floor-deferred");
  const floor = fasterFloor(results.get("floor") ?? [], deferredRuns ?? []);
  if (floor.length > 0 && deferredRuns !== undefined) {
    const deferred = floor.filter((r, i) => r === deferredRuns[i]).length;
    const f = summarize(floor);
    console.log(
      `the floor (per round, the faster floor server): ${Math.round(f.requestsPerSecond)} req/s, ${f.cpuUsPerRequest?.toFixed(1) ?? "?"} µs/request; the deferred one in ${deferred} of ${floor.length} rounds`,
    );
  }
  for (const [runs, load] of [
    [results, "at saturation"],
    [paced, `at a paced ${PACE_RATE} req/s`],
  ] as const) {
    const shadow = roundRatios(runs.get("keel+shadow") ?? [], runs.get("keel") ?? [], (r) => r.p99Ms).map((x) => x - 1);
    if (shadow.length === 0) continue;
    console.log(
      `shadow scoring p99 overhead ${load}: ${(med(shadow) * 100).toFixed(1)} % (target <= 10 %; median of the rounds' paired ratios: ${shadow.map(pct).join(", ")})`,
    );
  }
  // Throughput against the floor: the median of each round's own ratio.
  for (const [label, name] of [
    ["keel", "keel"],
    ["keel-nolog", "keel with the inference log off"],
    ["keel-oip", "keel over OIP"],
  ] as const) {
    const ratios = roundRatios(results.get(label) ?? [], floor, (r) => r.requestsPerSecond);
    if (ratios.length === 0) continue;
    // The same from CPU time: the floor's CPU per request over keel's, what throughput would show on a quiet core.
    const cpu = roundRatios(floor, results.get(label) ?? [], (r) => r.cpuUsPerRequest ?? NaN);
    console.log(
      `${name} at ${pct(med(ratios))} of the floor's throughput (target >= 75 %; rounds: ${ratios.map(pct).join(", ")}); by CPU per request ${pct(med(cpu))} (rounds: ${cpu.map(pct).join(", ")})`,
    );
  }
  // keel against the baseline checkout, round by round (the two ran minutes apart at most).
  for (const label of ["keel", "keel-nolog", "keel-oip"]) {
    const base = results.get(`base:${label}`);
    if (base === undefined) continue;
    const cpu = roundRatios(results.get(label) ?? [], base, (r) => r.cpuUsPerRequest ?? NaN);
    const rps = roundRatios(results.get(label) ?? [], base, (r) => r.requestsPerSecond);
    console.log(
      `${label} against the baseline: CPU per request ×${med(cpu).toFixed(2)} (rounds: ${cpu.map((x) => x.toFixed(2)).join(", ")}), throughput ×${med(rps).toFixed(2)} (rounds: ${rps.map((x) => x.toFixed(2)).join(", ")})`,
    );
  }
  for (const label of PACED) {
    const runs = paced.get(label) ?? [];
    if (runs.length === 0) continue;
    const p = summarize(runs);
    console.log(
      `paced ${label}: ${Math.round(p.requestsPerSecond)} req/s (${PACED_DELAY_MS} ms think time per connection), p50 ${p.p50Ms.toFixed(2)} ms, p99 ${p.p99Ms.toFixed(2)} ms (target p99 <= 2 ms at ${PACE_RATE} req/s; median of ${p.runs} runs, ${p.failures} failed)`,
    );
  }
  if (serverRss !== undefined) console.log(`keel server peak RSS: ${(serverRss / 2 ** 20).toFixed(0)} MiB`);
  const anchor = results.get("anchor");
  if (anchor !== undefined && keel.length > 0 && floor.length > 0) {
    const a = summarize(anchor).requestsPerSecond;
    console.log(
      `ratio keel / anchor throughput: ${(summarize(keel).requestsPerSecond / a).toFixed(1)}x (target >= 20x); floor / anchor, the most any server on this machine's Node could show: ${(summarize(floor).requestsPerSecond / a).toFixed(1)}x`,
    );
  }
}

/** One record as an Open Inference Protocol request: a tensor of shape [1] per signature input. */
function oipInferBody(signature: Signature, record: Record<string, string | number | null>): string {
  const datatype = (type: string) => (type === "string" ? "BYTES" : type === "long" ? "INT64" : "FP64");
  const inputs = signature.inputs.map((c) => ({
    name: c.name,
    shape: [1],
    datatype: datatype(c.type),
    data: [record[c.name] ?? null],
  }));
  return JSON.stringify({ inputs });
}
