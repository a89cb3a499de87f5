import { afterEach, describe, expect, it } from "vitest";
import { createLeaseStore } from "../../src/store/index.js";
import { ModelServer, parseEndpointConfig } from "../../src/serving/index.js";
import { fixtureLoader, openStack, type Stack } from "./harness.js";

const STEP_MS = 60_000;

let stack: Stack | undefined;
const servers: ModelServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  await stack?.close();
  stack = undefined;
});

/** One replica's model server: its own lease holder name, the shared stores, a clock the test moves. */
function replica(s: Stack, holder: string, clock: { t: number }, canary: string): ModelServer {
  const server = new ModelServer({
    registry: s.registry,
    loadModel: fixtureLoader,
    clock: () => clock.t,
    // no poll during the test: each sync is the test's
    pollIntervalMs: 600_000,
    canaries: { store: s.stores.canaries, registry: s.registry },
    canaryLease: createLeaseStore(s.stores.metadata, { clock: () => clock.t }).lease("canary-advance", holder, 30_000),
    endpoints: [parseEndpointConfig({ name: "credit", model: "credit", canary: { version: canary, stepSeconds: 60 } })],
  });
  servers.push(server);
  return server;
}

function canaryOf(server: ModelServer) {
  return server.listEndpoints().find((e) => e.name === "credit")?.canary;
}

async function decisions(s: Stack): Promise<string[]> {
  return ((await s.stores.canaries.get("credit"))?.decisions ?? []).map((d) => `${d.action} ${d.percent}`);
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
}

describe("a canary served by two replicas", () => {
  it("advances once, on the lease holder; the other replica takes up each decision from the store", async () => {
    stack = await openStack();
    const s = stack;
    const a = await s.register("credit", "xgb_binary.json");
    const b = await s.register("credit", "xgb_binary_base.json");
    await s.registry.setAlias("credit", "champion", a);
    const clock = { t: 10_000_000 };
    const first = replica(s, "replica-a", clock, b);
    await first.start();
    await until(async () => (await decisions(s)).length === 1);
    const second = replica(s, "replica-b", clock, b);
    await second.start();
    // the second replica resumed the stored canary instead of starting it again
    expect(await decisions(s)).toEqual(["start 5"]);
    expect(canaryOf(second)).toEqual(canaryOf(first));

    clock.t += STEP_MS;
    // both replicas' syncs at once, twice: one holder decides, the step is taken once
    await Promise.all([first.sync(), second.sync()]);
    await Promise.all([first.sync(), second.sync()]);
    await until(async () => (await decisions(s)).length === 2);
    expect(await decisions(s)).toEqual(["start 5", "advance 25"]);
    await Promise.all([first.sync(), second.sync()]);
    expect(canaryOf(first)).toMatchObject({ status: "running", step: 1 });
    expect(canaryOf(second)).toEqual(canaryOf(first));

    // a rollback by hand on the replica that does not hold the lease is stored and taken up by the holder
    const holder = (await s.stores.leases.list())[0]?.holder;
    const [deciding, other] = holder === "replica-a" ? [first, second] : [second, first];
    expect(other.rollbackCanary("credit", "by hand")).toMatchObject({ modelVersion: b });
    await until(async () => (await decisions(s)).length === 3);
    clock.t += STEP_MS;
    await deciding.sync();
    expect(canaryOf(deciding)).toMatchObject({ status: "rolled_back", reason: "by hand" });
    expect(await decisions(s)).toEqual(["start 5", "advance 25", "rollback 0"]);
  });
});
