/**
 * `npm run bench soak`: two `keel server` replicas on PostgreSQL under mixed traffic for
 * KEEL_SOAK_SECONDS (default 600) — scoring, run logging, registering versions, moving the
 * champion alias back and forth, monitoring windows — recording each replica's RSS and event-loop
 * delay, p99 latency per kind of request and the errors. Fails on any error, or when the memory
 * floors (RSS, V8 heap) grow after warm-up past their bounds.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { openStores } from "../src/open-stores.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MAIN = path.join(ROOT, "src/cli/main.ts");
const PROBE = path.join(ROOT, "bench/soak-probe.ts");
const MODEL_FILE = path.join(ROOT, "test/fixtures/models/xgb_binary.json");
const PG_URL = process.env.KEEL_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
/**
 * What a replica's memory may gain after warm-up over the run, in MB: the rise of the line fitted
 * through its floors — the V8 heap after each major collection; for RSS, the lowest sample of each
 * sixth of the run — since the sawtooth between collections says nothing about a leak.
 */
export const HEAP_GROWTH_BOUND_MB = 24;
export const RSS_GROWTH_BOUND_MB = 128;
/** Parts of the post-warm-up run whose lowest sample is a floor. */
const FLOOR_PARTS = 6;

export type SoakKind = "score" | "log_batch" | "register" | "move_alias" | "monitor";

/** Out of 100 operations: mostly scoring, like production. */
const MIX: readonly [SoakKind, number][] = [
  ["score", 80],
  ["log_batch", 10],
  ["register", 3],
  ["move_alias", 3],
  ["monitor", 4],
];

export interface ReplicaFigures {
  readonly rssStartMb: number;
  readonly rssEndMb: number;
  /** Rise of the line through the RSS floors after warm-up, over the post-warm-up time, in MB. */
  readonly rssGrowthMb: number;
  /** Rise of the line through the V8 heap after each major collection after warm-up, in MB. */
  readonly heapGrowthMb: number;
  /** The heap after the first major collection after warm-up. */
  readonly heapFloorMb: number;
  /** Major collections after warm-up (points of the heap's line). */
  readonly majorCollections: number;
  readonly eventLoopDelayP99Ms: number;
  readonly eventLoopDelayMaxMs: number;
}

export interface SoakReport {
  readonly seconds: number;
  readonly requests: Record<SoakKind, number>;
  readonly p99Ms: Record<SoakKind, number>;
  readonly errors: number;
  readonly firstErrors: readonly string[];
  readonly replicas: readonly ReplicaFigures[];
}

interface Sample {
  readonly t: number;
  readonly rss: number;
  /** V8 heap in use after the latest major collection, and when that was (null before the first). */
  readonly heapAfterGc: number | null;
  readonly gcAt: number | null;
  readonly eldP99Ms: number;
  readonly eldMaxMs: number;
}

function startReplica(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--expose-gc", "--import", "tsx", "--import", PROBE, MAIN, "server", "--port", "0"],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", KEEL_LOG_LEVEL: "silent", ...env },
      },
    );
    let out = "";
    const timer = setTimeout(() => reject(new Error(`replica did not start: ${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      const m = /^listening on (http:\/\/\S+)$/m.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code}: ${out}`));
    });
  });
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Slope of the least-squares line through the points, in bytes per ms. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((s, [t]) => s + t, 0) / n;
  const mv = points.reduce((s, [, v]) => s + v, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, v] of points) {
    num += (t - mt) * (v - mv);
    den += (t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The lowest sample of each of FLOOR_PARTS equal parts of the samples, as (time, value). */
function floors(samples: readonly Sample[], value: (s: Sample) => number): [number, number][] {
  const size = Math.max(1, Math.floor(samples.length / FLOOR_PARTS));
  const out: [number, number][] = [];
  for (let i = 0; i + size <= samples.length; i += size) {
    const part = samples.slice(i, i + size);
    const low = part.reduce((a, b) => (value(b) < value(a) ? b : a));
    out.push([low.t, value(low)]);
  }
  return out;
}

function figures(file: string, warmUntil: number): ReplicaFigures {
  const samples = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Sample);
  const after = samples.filter((s) => s.t >= warmUntil);
  const span = after.length > 1 ? after[after.length - 1]!.t - after[0]!.t : 0;
  // One point per major collection after warm-up: the heap's floors.
  const collections = [
    ...new Map(
      after.flatMap((x) =>
        x.gcAt === null || x.heapAfterGc === null || x.gcAt < warmUntil
          ? []
          : [[x.gcAt, x.heapAfterGc] as [number, number]],
      ),
    ).entries(),
  ];
  const mb = (b: number) => b / 2 ** 20;
  return {
    rssStartMb: mb(after[0]?.rss ?? 0),
    rssEndMb: mb(after[after.length - 1]?.rss ?? 0),
    rssGrowthMb: mb(slope(floors(after, (x) => x.rss)) * span),
    heapGrowthMb: mb(slope(collections) * span),
    heapFloorMb: mb(collections[0]?.[1] ?? 0),
    majorCollections: collections.length,
    eventLoopDelayP99Ms: percentile(
      after.map((s) => s.eldP99Ms),
      99,
    ),
    eventLoopDelayMaxMs: Math.max(0, ...after.map((s) => s.eldMaxMs)),
  };
}

/** The OIP V2 body of the fixture model's first row. */
function inferBody(): string {
  const e = JSON.parse(readFileSync(`${MODEL_FILE}.expected.json`, "utf8")) as {
    columns: Record<string, (number | null)[]>;
  };
  return JSON.stringify({
    inputs: Object.entries(e.columns).map(([name, v]) => ({
      name,
      shape: [1],
      datatype: "FP32",
      data: [v[0] ?? null],
    })),
  });
}

/** Runs the soak for `seconds` (the first fifth, at least 10 s, is warm-up) with `concurrency` loops. */
export async function runSoak(options: { seconds: number; concurrency?: number }): Promise<SoakReport> {
  const dir = mkdtempSync(path.join(tmpdir(), "keel-soak-"));
  const schema = `keel_soak_${process.pid}_${Date.now()}`;
  const url = new URL(PG_URL);
  url.searchParams.set("schema", schema);
  const uri = url.toString();
  const stores = openStores({ backendStoreUri: uri, artifactRoot: path.join(dir, "artifacts") });
  const replicas: ChildProcess[] = [];
  try {
    await stores.migrate();
    await stores.artifacts.putFile("models/credit/model.json", new Uint8Array(readFileSync(MODEL_FILE)));
    const blob = await stores.artifacts.statFile("models/credit/model.json");
    const source = "mlflow-artifacts:/models/credit/model.json";
    for (const name of ["credit", "soak-registry"]) {
      await stores.registry.createModelVersion({ name, source, checksum: blob.sha256 });
      await stores.registry.createModelVersion({ name, source, checksum: blob.sha256 });
    }
    await stores.registry.setAlias("credit", "champion", "1");
    const experiment = await stores.tracking.createExperiment("soak");
    await stores.close();

    const started = await Promise.all(
      [0, 1].map((i) =>
        startReplica({
          KEEL_DATA_DIR: dir,
          KEEL_BACKEND_STORE_URI: uri,
          KEEL_SOAK_PROBE_FILE: path.join(dir, `probe-${i}.jsonl`),
        }),
      ),
    );
    for (const r of started) replicas.push(r.child);
    const bases = started.map((r) => r.url);
    const body = inferBody();
    const latencies: Record<SoakKind, number[]> = {
      score: [],
      log_batch: [],
      register: [],
      move_alias: [],
      monitor: [],
    };
    const errors: string[] = [];
    let champion = 1;
    let runId: string | undefined;
    let step = 0;

    const post = async (base: string, endpoint: string, json: unknown): Promise<Response> =>
      fetch(`${base}${endpoint}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof json === "string" ? json : JSON.stringify(json),
      });
    const op = async (kind: SoakKind, base: string): Promise<Response> => {
      switch (kind) {
        case "score":
          return post(base, "/v2/models/credit/infer", body);
        case "log_batch": {
          if (runId === undefined || step % 500 === 0) {
            const r = await post(base, "/api/2.0/mlflow/runs/create", { experiment_id: experiment });
            runId = ((await r.json()) as { run: { info: { run_id: string } } }).run.info.run_id;
          }
          const s = step++;
          return post(base, "/api/2.0/mlflow/runs/log-batch", {
            run_id: runId,
            metrics: Array.from({ length: 20 }, (_, i) => ({ key: `m${i}`, value: s, timestamp: Date.now(), step: s })),
          });
        }
        case "register":
          return post(base, "/api/2.0/mlflow/model-versions/create", {
            name: "soak-registry",
            source,
            checksum: blob.sha256,
          });
        case "move_alias":
          champion = champion === 1 ? 2 : 1;
          return post(base, "/api/2.0/mlflow/registered-models/alias", {
            name: "credit",
            alias: "champion",
            version: String(champion),
          });
        case "monitor": {
          const to = Date.now();
          return post(base, "/api/keel/monitoring/run", { model: "credit", from: to - 3_600_000, to });
        }
      }
    };
    const schedule: SoakKind[] = MIX.flatMap(([k, n]) => Array<SoakKind>(n).fill(k));
    const start = Date.now();
    const end = start + options.seconds * 1000;
    const warmUntil = start + Math.max(10_000, options.seconds * 200);
    const loop = async (w: number) => {
      for (let i = w * 7; Date.now() < end; i++) {
        const kind = schedule[i % schedule.length]!;
        const base = bases[i % bases.length]!;
        const t0 = performance.now();
        try {
          const res = await op(kind, base);
          const text = await res.text();
          if (res.status !== 200) errors.push(`${kind} ${res.status} ${text.slice(0, 200)}`);
        } catch (e) {
          errors.push(`${kind} ${e instanceof Error ? e.message : String(e)}`);
        }
        if (Date.now() >= warmUntil) latencies[kind].push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, (_, w) => loop(w)));
    const kinds = Object.keys(latencies) as SoakKind[];
    return {
      seconds: options.seconds,
      requests: Object.fromEntries(kinds.map((k) => [k, latencies[k].length])) as Record<SoakKind, number>,
      p99Ms: Object.fromEntries(kinds.map((k) => [k, percentile(latencies[k], 99)])) as Record<SoakKind, number>,
      errors: errors.length,
      firstErrors: errors.slice(0, 5),
      replicas: [0, 1].map((i) => figures(path.join(dir, `probe-${i}.jsonl`), warmUntil)),
    };
  } finally {
    await Promise.all(
      replicas.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null) return r();
            c.once("exit", () => r());
            c.kill("SIGTERM");
          }),
      ),
    );
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const seconds = Number(process.env.KEEL_SOAK_SECONDS ?? 600);
  const report = await runSoak({ seconds });
  const fmt = (n: number) => n.toFixed(1);
  console.log(
    `soak: ${seconds} s, 2 replicas on PostgreSQL, ${Object.values(report.requests).reduce((a, b) => a + b, 0)} requests after warm-up`,
  );
  console.log("| request | count | p99 ms |");
  console.log("| --- | --- | --- |");
  for (const [k, n] of Object.entries(report.requests))
    console.log(`| ${k} | ${n} | ${fmt(report.p99Ms[k as SoakKind])} |`);
  report.replicas.forEach((r, i) =>
    console.log(
      `replica ${i}: RSS ${fmt(r.rssStartMb)} → ${fmt(r.rssEndMb)} MB (floor growth ${fmt(r.rssGrowthMb)} MB, bound ${RSS_GROWTH_BOUND_MB}), heap floor ${fmt(r.heapFloorMb)} MB (growth ${fmt(r.heapGrowthMb)} MB, bound ${HEAP_GROWTH_BOUND_MB}), event-loop delay p99 ${fmt(r.eventLoopDelayP99Ms)} ms, max ${fmt(r.eventLoopDelayMaxMs)} ms`,
    ),
  );
  console.log(`errors: ${report.errors}${report.errors > 0 ? ` (first: ${report.firstErrors.join(" | ")})` : ""}`);
  const grew = report.replicas.some(
    (r) => r.rssGrowthMb > RSS_GROWTH_BOUND_MB || r.heapGrowthMb > HEAP_GROWTH_BOUND_MB,
  );
  if (report.errors > 0 || grew) process.exitCode = 1;
}
