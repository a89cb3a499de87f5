import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KeelClient } from "../src/client/index.js";
import type { MetricJson } from "../src/client/index.js";

/**
 * Tracking over HTTP, as MLflow clients log: log-batch calls of 1000 metric points from several
 * concurrent clients to a `keel server` process on SQLite (each call acknowledged only once
 * durable), and the run search of a filtered, ordered first page through `runs/search`. The
 * server runs in its own process so the clients' JSON work does not share its thread.
 * Knobs: KEEL_BENCH_HTTP_BATCHES (default 200), KEEL_BENCH_HTTP_CLIENTS (default 4).
 */
const INGEST_TARGET = 20_000;
const POINTS_PER_BATCH = 1000;

function positive(name: string, fallback: number, env: Readonly<Record<string, string | undefined>>): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} ${JSON.stringify(raw)} must be a positive integer`);
  return n;
}

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.ts");

function startKeelServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "server", "--port", "0", "--data-dir", dataDir], {
      env: { PATH: process.env.PATH ?? "" },
    });
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /^listening on (http:\/\/\S+)$/m.exec(out);
      if (m !== null) resolve({ child, url: m[1]! });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`keel server exited with ${code}: ${out}`)));
  });
}

export async function run(): Promise<void> {
  const batches = positive("KEEL_BENCH_HTTP_BATCHES", 200, process.env);
  const clients = positive("KEEL_BENCH_HTTP_CLIENTS", 4, process.env);
  const dataDir = mkdtempSync(path.join(tmpdir(), "keel-bench-http-"));
  try {
    const server = await startKeelServer(dataDir);
    try {
      const client = new KeelClient({ baseUrl: server.url });
      const experimentId = await client.createExperiment("bench");
      const runIds: string[] = [];
      for (let c = 0; c < clients; c++) {
        runIds.push((await client.createRun({ experiment_id: experimentId, run_name: `client-${c}` })).info.run_id);
      }
      // Bodies are built before timing: the figure is the server's, not the JSON building's.
      const bodies = Array.from({ length: batches }, (_, b) => {
        const metrics: MetricJson[] = new Array<MetricJson>(POINTS_PER_BATCH);
        for (let i = 0; i < POINTS_PER_BATCH; i++) {
          metrics[i] = {
            key: `m${i % 10}`,
            value: (b * POINTS_PER_BATCH + i) / 1e3,
            timestamp: 1_700_000_000_000 + b,
            step: b * 100 + Math.floor(i / 10),
          };
        }
        return metrics;
      });
      let next = 0;
      const t0 = process.hrtime.bigint();
      await Promise.all(
        runIds.map(async (runId) => {
          for (let b = next++; b < batches; b = next++) await client.logBatch(runId, { metrics: bodies[b]! });
        }),
      );
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const pointsPerSecond = (batches * POINTS_PER_BATCH) / seconds;
      console.log(
        `http log-batch ingest (SQLite, ${clients} clients, ${batches} × ${POINTS_PER_BATCH} points): ` +
          `${Math.round(pointsPerSecond).toLocaleString("en-US")} points/s (target ≥ ${INGEST_TARGET.toLocaleString("en-US")})`,
      );

      const s0 = process.hrtime.bigint();
      const page = await client.searchRuns({
        experiment_ids: [experimentId],
        filter: "metrics.m1 > 0",
        order_by: ["metrics.m1 DESC"],
        max_results: 100,
      });
      const ms = Number(process.hrtime.bigint() - s0) / 1e6;
      console.log(`http runs/search (${page.runs?.length ?? 0} runs returned): ${ms.toFixed(1)} ms`);
    } finally {
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGTERM");
      await exited;
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
