import { afterEach, describe, expect, it } from "vitest";
import { parseEndpointConfig, type ModelServerOptions } from "../../src/serving/index.js";
import { fixture, post, serve, openStack, type Served, type Stack } from "./harness.js";

const v1 = fixture("xgb_binary.json");

let stack: Stack | undefined;
let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  await stack?.close();
  served = undefined;
  stack = undefined;
});

const STEP_MS = 60_000;

/** A canary of `b` on endpoint credit (5 → 25 → 100%, a minute each), the previous champion as fallback. */
function options(s: Stack, clock: { t: number }, b: string): Partial<ModelServerOptions> {
  return {
    clock: () => clock.t,
    pollIntervalMs: 600_000,
    canaries: { store: s.stores.canaries, registry: s.registry },
    endpoints: [
      parseEndpointConfig({
        name: "credit",
        model: "credit",
        canary: { version: b, stepSeconds: STEP_MS / 1000 },
        fallback: { previousVersion: true },
      }),
    ],
  };
}

/** Share of 400 sticky applicants the canary answers, and the versions that answered. */
async function traffic(url: string): Promise<{ canary: number; versions: Set<string>; routes: Set<string> }> {
  let canary = 0;
  const versions = new Set<string>();
  const routes = new Set<string>();
  for (let e = 0; e < 400; e++) {
    const r = await post(url, [v1.row(e % 200)], { "x-keel-entity-id": `applicant-${e}` });
    const p = (r.body as { predictions: { route: string; model_version: string }[] }).predictions[0];
    if (p?.route === "canary") canary++;
    versions.add(p?.model_version ?? "");
    routes.add(p?.route ?? "");
  }
  return { canary: canary / 400, versions, routes };
}

describe("canaries that finish", () => {
  it("resumes a canary at 25% after a restart, finishes it and moves the champion alias in the approver's name", async () => {
    stack = await openStack();
    const s = stack;
    const a = await s.register("credit", "xgb_binary.json");
    const b = await s.register("credit", "xgb_binary_base.json");
    await s.registry.setAlias("credit", "champion", a);
    await s.stores.canaries.approve({
      modelName: "credit",
      modelVersion: b,
      approver: "alice",
      reason: "evaluation 12",
    });
    const clock = { t: 10_000_000 };
    served = await serve(s, options(s, clock, b));
    const url = () => `${served?.url ?? ""}/api/keel/endpoints/credit/predict`;
    const first = await traffic(url());
    expect(first.canary).toBeGreaterThan(0.01);
    expect(first.canary).toBeLessThan(0.1);
    clock.t += STEP_MS;
    await served.serving.sync();
    const quarter = await traffic(url());
    expect(quarter.canary).toBeGreaterThan(0.17);
    expect(quarter.canary).toBeLessThan(0.33);

    // restart half-way through the 25% step
    await served.close();
    served = undefined;
    expect(await s.stores.canaries.get("credit")).toMatchObject({
      modelVersion: b,
      status: "running",
      step: 1,
      stepStartedAt: 10_000_000 + STEP_MS,
    });
    clock.t += STEP_MS / 2;
    served = await serve(s, options(s, clock, b));
    expect((await traffic(url())).canary).toBe(quarter.canary);
    clock.t += STEP_MS / 2;
    await served.serving.sync();
    expect((await traffic(url())).canary).toBe(1);
    clock.t += STEP_MS;
    await served.serving.sync();
    await served.serving.canariesStored();

    expect((await s.registry.getVersionByAlias("credit", "champion")).version).toBe(b);
    const after = await traffic(url());
    expect(after.routes).toEqual(new Set(["champion"]));
    expect(after.versions).toEqual(new Set([b]));
    const endpoint = served.serving.listEndpoints()[0];
    expect(endpoint?.versions).toMatchObject({ champion: b, fallback: a });
    expect(endpoint?.canary).toMatchObject({ status: "promoted" });

    const audit = await s.stores.audit.list({ limit: 1000 });
    const promote = audit.find((r) => r.action === "registered_model.promote");
    expect(promote?.actor).toBe("alice");
    expect(JSON.stringify(promote?.after)).toContain("evaluation 12");
    const decisions = audit.filter((r) => r.targetType === "serving_canary").map((r) => r.action);
    expect(decisions).toEqual([
      "serving_canary.start",
      "serving_canary.advance",
      "serving_canary.advance",
      "serving_canary.promote",
    ]);
    const promoted = audit.find((r) => r.action === "serving_canary.promote");
    expect(promoted?.after).toMatchObject({
      model_version: b,
      status: "promoted",
      evidence: { approval: { approver: "alice" }, previous_champion: a },
    });
    expect((await s.stores.canaries.get("credit"))?.decisions.map((d) => d.action)).toEqual([
      "start",
      "advance",
      "advance",
      "promote",
    ]);
    expect((await s.stores.audit.verifyAuditChain()).ok).toBe(true);
  });

  it("holds an unapproved canary below 100%: the champion alias does not move", async () => {
    stack = await openStack();
    const s = stack;
    const a = await s.register("credit", "xgb_binary.json");
    const b = await s.register("credit", "xgb_binary_base.json");
    await s.registry.setAlias("credit", "champion", a);
    const clock = { t: 20_000_000 };
    served = await serve(s, options(s, clock, b));
    for (let i = 0; i < 5; i++) {
      clock.t += STEP_MS;
      await served.serving.sync();
    }
    await served.serving.canariesStored();
    expect((await s.registry.getVersionByAlias("credit", "champion")).version).toBe(a);
    const share = (await traffic(`${served.url}/api/keel/endpoints/credit/predict`)).canary;
    expect(share).toBeLessThan(0.33);
    const stored = await s.stores.canaries.get("credit");
    expect(stored).toMatchObject({ status: "running", step: 1 });
    expect(stored?.reason).toMatch(/awaiting approval/);
    // the hold is recorded once, not on every sync
    expect(stored?.decisions.map((d) => d.action)).toEqual(["start", "advance", "hold"]);
    const audit = await s.stores.audit.list({ limit: 1000 });
    expect(audit.some((r) => r.action === "registered_model.promote")).toBe(false);
  });
});
