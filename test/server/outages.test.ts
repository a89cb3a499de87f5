import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeelServer, type KeelServer } from "../../src/cli/serve.js";
import { KeelClient } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { createFeatureRegistry, loadFeatureRepo } from "../../src/features/index.js";
import { openStores, type Stores } from "../../src/open-stores.js";
import { TEST_PG_URL } from "../services.js";
import { requireTool } from "../tools.js";
import { freshPostgresUri } from "./helpers.js";
import { freePort } from "./nginx.js";
import { call, infer, pollUntil, xgb } from "./replica-harness.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

const redisServer = requireTool("redis-server");
const FEATURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../features/fixtures");
/** A request that hangs instead of failing fast fails the test. */
const HANG_MS = 15_000;

let dir: string;
let schema: string;
let proxy: TcpProxy;
let redisPort: number;
let redis: ChildProcess | undefined;
let stores: Stores;
let keel: KeelServer;
let base: string;
const log: string[] = [];

function startRedis(): Promise<ChildProcess> {
  const child = spawn(redisServer.path, ["--port", String(redisPort), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  return pollUntil(async () => {
    try {
      const r = await fetch(`http://127.0.0.1:${redisPort}`).catch((e: unknown) => e);
      // redis answers an HTTP request by closing the connection: the port is open
      return !(r instanceof Error && /ECONNREFUSED/.test(String((r as { cause?: unknown }).cause)));
    } catch {
      return false;
    }
  }, 10_000).then(() => child);
}

async function stopRedis(): Promise<void> {
  const child = redis;
  redis = undefined;
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGKILL");
  await exited;
}

beforeAll(async () => {
  if (redisServer.skip) return;
  dir = mkdtempSync(path.join(tmpdir(), "keel-outages-"));
  const pgUrl = new URL(TEST_PG_URL);
  proxy = await startTcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
  const direct = freshPostgresUri("outages");
  schema = new URL(direct).searchParams.get("schema")!;
  const viaProxy = new URL(direct);
  viaProxy.port = String(proxy.port);
  redisPort = await freePort();
  redis = await startRedis();
  const config = loadConfig({
    flags: {
      port: 0,
      host: "127.0.0.1",
      dataDir: dir,
      backendStoreUri: viaProxy.toString(),
      redisUrl: `redis://127.0.0.1:${redisPort}`,
    },
    env: {},
  });
  stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  await stores.migrate();
  await stores.artifacts.putFile("models/credit/model.json", new Uint8Array(readFileSync(xgb.file)));
  const blob = await stores.artifacts.statFile("models/credit/model.json");
  const mv = await stores.registry.createModelVersion({
    name: "credit",
    source: "mlflow-artifacts:/models/credit/model.json",
    checksum: blob.sha256,
  });
  await stores.registry.setAlias("credit", "champion", mv.version);
  const repo = await loadFeatureRepo(path.join(FEATURES, "loan-features.yaml"));
  await createFeatureRegistry(stores.metadata).apply(repo, { sourceFile: "loan-features.yaml", actor: "test" });
  const servingFile = path.join(dir, "serving.json");
  // the prediction cache in Redis; the inference log asynchronous (the default)
  writeFileSync(
    servingFile,
    JSON.stringify({ endpoints: [{ name: "credit", model: "credit", cache: { ttlSeconds: 60 } }] }),
  );
  keel = await startKeelServer(
    stores,
    config,
    { env: {}, cwd: dir, out: (t) => log.push(t), err: (t) => log.push(t) },
    { servingConfig: servingFile },
  );
  base = keel.server.url;
}, 120_000);

afterAll(async () => {
  if (redisServer.skip) return;
  await proxy.restore().catch(() => undefined);
  await keel?.close();
  await stores?.close();
  await proxy.close();
  await stopRedis();
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  await client.query(`drop schema if exists ${schema} cascade`);
  await client.end();
  rmSync(dir, { recursive: true, force: true });
});

/** A request with a hang guard: undefined when it did not answer in HANG_MS. */
async function timed<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T | "hung"> {
  try {
    return await work(AbortSignal.timeout(HANG_MS));
  } catch (e) {
    if (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")) return "hung";
    throw e;
  }
}

async function createExperiment(
  name: string,
  signal?: AbortSignal,
): Promise<{ status: number; code?: string; message?: string }> {
  const res = await fetch(`${base}/api/2.0/mlflow/experiments/create`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
    ...(signal === undefined ? {} : { signal }),
  });
  const body = (await res.json()) as { error_code?: string; message?: string };
  return {
    status: res.status,
    ...(body.error_code === undefined ? {} : { code: body.error_code, message: body.message }),
  };
}

describe.skipIf(redisServer.skip)("a replica when PostgreSQL or Redis goes away", () => {
  it("PostgreSQL unreachable mid-load: writes fail fast with 503, scoring goes on, and both recover without a restart", async () => {
    expect((await createExperiment("before")).status).toBe(200);
    // background load through the whole outage: scoring and MLflow writes, every answer recorded
    let stop = false;
    const scoring: number[] = [];
    const writes: (number | "hung")[] = [];
    const load = [
      (async () => {
        for (let i = 0; !stop; i++) scoring.push((await infer(base, "credit", i % 200)).status);
      })(),
      (async () => {
        for (let i = 0; !stop; i++) {
          const r = await timed((signal) => createExperiment(`load-${i}`, signal));
          writes.push(r === "hung" ? r : r.status);
        }
      })(),
    ];
    const until = async (n: () => number, count: number) => {
      for (const start = n(); n() < start + count;) await new Promise((r) => setTimeout(r, 5));
    };
    try {
      await until(() => writes.length, 5);
      await proxy.cut();
      try {
        for (const i of [0, 1, 2]) {
          const r = await timed((signal) => createExperiment(`during-${i}`, signal));
          expect(r).not.toBe("hung");
          expect(r).toMatchObject({ status: 503, code: "TEMPORARILY_UNAVAILABLE" });
          expect((r as { message: string }).message).toContain("metadata database unavailable");
        }
        await until(() => writes.length, 5);
        // loaded models keep answering (their async log rows are counted as failed, not the request)
        for (const i of [3, 4, 5]) {
          const scored = await infer(base, "credit", i);
          expect(scored.status).toBe(200);
          expect(scored.score).toBeCloseTo(xgb.expected[i] as number, 6);
        }
        expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
      } finally {
        await proxy.restore();
      }
      const back = await pollUntil(async () => (await createExperiment(`after-${Date.now()}`)).status === 200, 30_000);
      expect(back.ok).toBe(true);
      await until(() => writes.length, 5);
    } finally {
      stop = true;
      await Promise.all(load);
    }
    // no request hung, none failed with anything but 503, scoring never failed
    expect(writes.filter((w) => w !== 200 && w !== 503)).toEqual([]);
    expect(writes).toContain(503);
    expect(writes.slice(-3)).toEqual([200, 200, 200]);
    expect(scoring.filter((s) => s !== 200)).toEqual([]);
    const listed = await call<{ experiments: { name: string }[] }>(
      base,
      "GET",
      "/api/2.0/mlflow/experiments/search?max_results=1000",
    );
    const names = listed.json.experiments.map((e) => e.name);
    expect(names).toContain("before");
    expect(names.filter((n) => n.startsWith("during"))).toEqual([]);
    // every write acknowledged under load is stored
    const acked = writes.flatMap((w, i) => (w === 200 ? [`load-${i}`] : []));
    for (const name of acked) expect(names).toContain(name);
    // every answered prediction is on record: the async log held the outage's rows and wrote them after
    const answered = scoring.filter((s) => s === 200).length + 3;
    const logged = async () => {
      const r = await sql<{ n: string }>`select count(*) as n from inference_log where endpoint = 'credit'`.execute(
        stores.metadata.db,
      );
      return Number(r.rows[0]?.n);
    };
    const written = await pollUntil(async () => (await logged()) === answered, 30_000);
    expect({ ok: written.ok, logged: await logged() }).toEqual({ ok: true, logged: answered });
    expect(log.join("")).toContain("inference log write failed; its records are held to be written again");
    expect(log.join("")).toContain("inference log writes resumed; held records written");
    const metrics = (await fetch(`${base}/metrics`).then((r) => r.text())).split("\n");
    expect(metrics).toContain("keel_inference_log_held_records 0");
    expect(metrics.filter((l) => l.startsWith('keel_serving_inference_log_records_total{outcome="failed"}'))).toEqual(
      [],
    );
  });

  it("Redis down: scoring bypasses the cache and goes on; online-feature reads report Redis unavailable; both recover", async () => {
    const client = new KeelClient({ baseUrl: base });
    await client.pushFeatures({
      push_source_name: "applicant_events",
      df: {
        applicant_id: [1],
        event_timestamp: [new Date().toISOString()],
        credit_score: [700],
        annual_income: [60_000],
        monthly_debt: [1000],
        home_ownership: ["OWN"],
      },
    });
    const read = () =>
      fetch(`${base}/get-online-features`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ features: ["applicant_features:credit_score"], entities: { applicant_id: [1] } }),
        signal: AbortSignal.timeout(HANG_MS),
      });
    expect((await read()).status).toBe(200);
    // warm the cache for row 9, so the outage turns a hit into a miss
    await infer(base, "credit", 9);
    await stopRedis();
    for (const i of [9, 10, 11]) {
      const scored = await timed(() => infer(base, "credit", i));
      expect(scored).not.toBe("hung");
      expect(scored).toMatchObject({ status: 200 });
      expect((scored as { score: number }).score).toBeCloseTo(xgb.expected[i] as number, 6);
    }
    const down = await timed(() => read());
    expect(down).not.toBe("hung");
    const res = down as Response;
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error_code: string; message: string };
    expect(body.error_code).toBe("TEMPORARILY_UNAVAILABLE");
    expect(body.message).toContain(`redis://127.0.0.1:${redisPort}`);
    redis = await startRedis();
    // an empty Redis (no persistence): the read answers again, the row is simply not there
    const back = await pollUntil(async () => (await read()).status === 200, 30_000);
    expect(back.ok).toBe(true);
    expect((await infer(base, "credit", 12)).status).toBe(200);
  });
});
