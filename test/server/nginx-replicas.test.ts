import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import { TEST_PG_URL } from "../services.js";
import { requireTool } from "../tools.js";
import { freshPostgresUri } from "./helpers.js";
import { startNginx, type RunningNginx } from "./nginx.js";
import { call, infer, startReplicas, stopReplica, xgb, type Replica } from "./replica-harness.js";

const nginx = requireTool("nginx");
const REPLICAS = 3;
const SCORERS = 4;
const WRITERS = 4;
/** Operations each load loop makes after the kill. */
const AFTER_KILL = 60;

let dir: string;
let uri: string;
let replicas: Replica[] = [];
let lb: RunningNginx | undefined;
let runId: string;

beforeAll(async () => {
  if (nginx.skip) return;
  dir = mkdtempSync(path.join(tmpdir(), "keel-nginx-"));
  uri = freshPostgresUri("nginx");
  // The champion and a run to log to, written before the replicas start (artifacts on a shared disk).
  const stores = openStores({ backendStoreUri: uri, artifactRoot: path.join(dir, "artifacts") });
  await stores.migrate();
  await stores.artifacts.putFile("models/credit/model.json", new Uint8Array(readFileSync(xgb.file)));
  const blob = await stores.artifacts.statFile("models/credit/model.json");
  const mv = await stores.registry.createModelVersion({
    name: "credit",
    source: "mlflow-artifacts:/models/credit/model.json",
    checksum: blob.sha256,
  });
  await stores.registry.setAlias("credit", "champion", mv.version);
  const experiment = await stores.tracking.createExperiment("load");
  runId = (await stores.tracking.createRun({ experimentId: experiment })).info.runId;
  await stores.close();
  replicas = await startReplicas(REPLICAS, [], { KEEL_DATA_DIR: dir, KEEL_BACKEND_STORE_URI: uri });
  lb = await startNginx(
    nginx.path,
    path.join(dir, "nginx"),
    replicas.map((r) => new URL(r.url).host),
  );
}, 180_000);

afterAll(async () => {
  if (nginx.skip) return;
  await lb?.stop();
  await Promise.all(replicas.map(stopReplica));
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  await client.query(`drop schema if exists ${new URL(uri).searchParams.get("schema")} cascade`);
  await client.end();
  rmSync(dir, { recursive: true, force: true });
});

interface LoopLog {
  /** Outcome of each operation, in order: true when acknowledged (200). */
  readonly outcomes: boolean[];
  /** How many operations had finished when the kill happened. */
  atKill: number;
}

describe.skipIf(nginx.skip)("nginx in front of three replicas on PostgreSQL", () => {
  it("kill -9 of one replica under load: no acknowledged write lost, the others keep serving", async () => {
    const base = lb!.url;
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    let killed = false;
    let acked = 0;
    const ackedSteps: number[][] = Array.from({ length: WRITERS }, () => []);
    const scorers: LoopLog[] = Array.from({ length: SCORERS }, () => ({ outcomes: [], atKill: -1 }));
    const writers: LoopLog[] = Array.from({ length: WRITERS }, () => ({ outcomes: [], atKill: -1 }));
    const wrong: string[] = [];
    const statuses: string[] = [];

    const loop = async (log: LoopLog, op: (n: number) => Promise<boolean>) => {
      for (let n = 0; !killed || n < log.atKill + AFTER_KILL; n++) log.outcomes.push(await op(n).catch(() => false));
    };
    const score = async (n: number) => {
      const i = n % 200;
      const r = await infer(base, "credit", i);
      if (r.status === 200 && Math.abs((r.score ?? NaN) - (xgb.expected[i] as number)) > 1e-6) wrong.push(`row ${i}`);
      if (r.status !== 200) statuses.push(`score ${r.status}`);
      return r.status === 200;
    };
    const write = (w: number) => async (n: number) => {
      const step = n;
      const res = await call(base, "POST", "/api/2.0/mlflow/runs/log-metric", {
        run_id: runId,
        key: `w${w}`,
        value: step * 2,
        timestamp: 1_700_000_000_000 + step,
        step,
      });
      if (res.status !== 200) {
        statuses.push(`${res.status} ${JSON.stringify(res.json)}`);
        return false;
      }
      ackedSteps[w]!.push(step);
      acked++;
      return true;
    };
    const running = [...scorers.map((log) => loop(log, score)), ...writers.map((log, w) => loop(log, write(w)))];
    while (acked < 80) await new Promise((r) => setTimeout(r, 5));
    const victim = replicas[1]!;
    victim.child.kill("SIGKILL");
    killed = true;
    // the operation each loop has in flight now counts as after the kill
    for (const log of [...scorers, ...writers]) log.atKill = log.outcomes.length;
    await Promise.all(running);
    expect(victim.child.signalCode).toBe("SIGKILL");

    const all = [...scorers, ...writers];
    // before the kill every request succeeded
    for (const log of all) expect(log.outcomes.slice(0, log.atKill).every(Boolean), statuses.join("\n")).toBe(true);
    // after it, only requests in flight on the killed replica can have failed: at most one per loop
    const failed = all.reduce((n, log) => n + log.outcomes.slice(log.atKill).filter((ok) => !ok).length, 0);
    expect(failed).toBeLessThanOrEqual(SCORERS + WRITERS);
    // and the last half of each loop's operations after the kill all succeeded
    for (const log of all) expect(log.outcomes.slice(-AFTER_KILL / 2).every(Boolean), statuses.join("\n")).toBe(true);
    expect(wrong).toEqual([]);

    // Every acknowledged write is stored, read back through the load balancer.
    for (let w = 0; w < WRITERS; w++) {
      const history = await call<{ metrics: { step: number; value: number }[] }>(
        base,
        "GET",
        `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=w${w}&max_results=25000`,
      );
      const stored = new Map(history.json.metrics.map((m) => [m.step, m.value]));
      for (const step of ackedSteps[w]!) expect(stored.get(step)).toBe(step * 2);
    }
  });
});
