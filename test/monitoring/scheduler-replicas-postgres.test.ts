import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MonitorScheduler, type MonitorJobDeps } from "../../src/monitoring/index.js";
import { openStores, type Stores } from "../../src/open-stores.js";
import { createLeaseStore } from "../../src/store/index.js";
import type { InferenceRecord } from "../../src/store/inference-log.js";
import { postgresStores, type TestStores } from "../store/backends.js";
import { ManualTimers } from "../runtime/manual-timers.js";

const MINUTE = 60_000;
const at = (h: number, m = 0) => Date.UTC(2024, 5, 1, h, m);

let shared: TestStores;
/** Each replica's own connection pool on the shared schema. */
const replicas: Stores[] = [];

function record(time: number, i: number): InferenceRecord {
  return {
    requestId: `loans-${time}-${i}`,
    time,
    endpoint: "loans",
    modelName: "loans",
    modelVersion: "1",
    route: "champion",
    features: { x: i },
    outputs: { score: 0.1 },
    latencyMs: 1,
  };
}

beforeAll(async () => {
  shared = await postgresStores();
  const rows: InferenceRecord[] = [];
  for (const h of [10, 11, 12, 13]) for (let i = 0; i < 5; i++) rows.push(record(at(h, i * 10), i));
  await shared.stores.inferenceLog.append(rows, { durability: "sync" });
  for (let i = 0; i < 2; i++)
    replicas.push(openStores({ backendStoreUri: shared.uri, artifactRoot: shared.artifactRoot }));
});

afterAll(async () => {
  for (const r of replicas) await r.close();
  await shared.close();
});

/** A replica's scheduler: its own stores, its own lease holder name, the test's clock. */
function replica(i: number, clock: () => number): MonitorScheduler {
  const s = replicas[i]!;
  const jobs: MonitorJobDeps = {
    registry: s.registry,
    artifacts: s.artifacts,
    inferenceLog: s.inferenceLog,
    observations: s.observations,
  };
  return new MonitorScheduler({
    jobs,
    config: { models: [{ name: "loans", windows: ["hourly"] }], champions: false, delayMinutes: 5 },
    clock,
    timers: new ManualTimers(),
    lease: createLeaseStore(s.metadata, { clock }).lease("monitor-scheduler", `replica-${i}`, 10 * MINUTE),
  });
}

/** The hourly windows whose request count monitoring recorded, oldest first (one entry per recording). */
async function recordedWindows(): Promise<number[]> {
  const obs = await shared.stores.observations.query({ modelName: "loans", metric: "request_count" });
  return obs.map((o) => o.windowStart);
}

describe("the monitor scheduler on two replicas", () => {
  it("runs each window once across replicas, and a replica taking over a dead one's lease continues where it stopped", async () => {
    let now = at(10, 30);
    const clock = () => now;
    const a = replica(0, clock);
    const b = replica(1, clock);
    a.start();
    b.start();
    now = at(13, 5);
    // both timers fire at the same moment
    const [ranA, ranB] = await Promise.all([a.runDue(), b.runDue()]);
    const runs = [...ranA, ...ranB].filter((r) => r.result !== undefined);
    expect(runs.map((r) => r.result?.windowStart)).toEqual([at(10), at(11), at(12)]);
    // one replica ran them all, the other none
    expect([ranA.length, ranB.length].sort()).toEqual([0, 3]);
    expect(await recordedWindows()).toEqual([at(10), at(11), at(12)]);

    // The replica that ran dies (never stops, never renews); its lease expires after 10 minutes.
    const [survivor] = ranA.length > 0 ? [b] : [a];
    now = at(14, 6);
    const next = await survivor.runDue();
    // it takes up the dead replica's progress: only the 13:00 window, nothing run twice
    expect(next.map((r) => r.result?.windowStart)).toEqual([at(13)]);
    expect(await recordedWindows()).toEqual([at(10), at(11), at(12), at(13)]);
    await survivor.stop();
  });
});
