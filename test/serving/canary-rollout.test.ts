import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ingestLabels } from "../../src/monitoring/index.js";
import { promoteAlias } from "../../src/registry/index.js";
import { canaryGateEvaluator } from "../../src/server/canary-gate.js";
import { startServer } from "../../src/server/start.js";
import { ModelServer, parseEndpointConfig, type ModelServerOptions } from "../../src/serving/index.js";
import { fixture, fixtureLoader, post, serve, openStack, type Served, type Stack } from "./harness.js";

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
    // The listing carries the policy the web UI shows: the default schedule, the configured step length.
    expect(endpoint?.canarySchedule).toEqual({ steps: [5, 25, 100], stepMs: STEP_MS });
    expect(endpoint?.challengerPercent).toBeUndefined();

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

describe("a canary whose version is already champion", () => {
  it("finishes without a second alias move (e.g. a restart between the move and its record)", async () => {
    stack = await openStack();
    const s = stack;
    const a = await s.register("credit", "xgb_binary.json");
    const b = await s.register("credit", "xgb_binary_base.json");
    await s.registry.setAlias("credit", "champion", a);
    await s.stores.canaries.approve({ modelName: "credit", modelVersion: b, approver: "alice", reason: "ok" });
    const clock = { t: 50_000_000 };
    served = await serve(s, options(s, clock, b));
    await promoteAlias(s.registry, { name: "credit", version: b, approver: "ops", reason: "by hand" });
    for (let i = 0; i < 3; i++) {
      clock.t += STEP_MS;
      await served.serving.sync();
    }
    await served.serving.canariesStored();
    expect(await s.stores.canaries.get("credit")).toMatchObject({ status: "promoted" });
    const audit = await s.stores.audit.list({ limit: 1000 });
    expect(audit.filter((r) => r.action === "registered_model.promote").map((r) => r.actor)).toEqual(["ops"]);
    expect(audit.filter((r) => r.action === "serving_canary.promote")).toHaveLength(1);
  });
});

describe("canary approval over HTTP with auth on", () => {
  it("a writer can start a canary but not let it take 100% or become champion; an approver can", async () => {
    stack = await openStack();
    const s = stack;
    const a = await s.register("credit", "xgb_binary.json");
    const b = await s.register("credit", "xgb_binary_base.json");
    await s.registry.setAlias("credit", "champion", a);
    const token = async (role: "reader" | "writer" | "approver") =>
      `Bearer ${(await s.stores.tokens.create({ name: `${role}-token`, role })).token}`;
    const [reader, writer, approver] = [await token("reader"), await token("writer"), await token("approver")];
    const clock = { t: 30_000_000 };
    const serving = new ModelServer({
      registry: s.registry,
      loadModel: fixtureLoader,
      pollIntervalMs: 600_000,
      clock: () => clock.t,
      inferenceLog: s.stores.inferenceLog,
      endpointStore: s.stores.endpoints,
      canaries: { store: s.stores.canaries, registry: s.registry },
    });
    await serving.start();
    const config = loadConfig({ flags: { port: 0, dataDir: s.dir, logLevel: "silent", authEnabled: true }, env: {} });
    const server = await startServer({ config, stores: s.stores, serving, clock: () => clock.t });
    served = {
      url: server.url,
      serving,
      server,
      close: async () => {
        await server.close();
        await serving.stop();
      },
    };
    const call = async (method: string, path: string, auth: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: auth, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const put = await call("PUT", "/api/keel/endpoints/credit", writer, {
      model: "credit",
      canary: { version: b, steps: [50, 100], stepSeconds: 60 },
    });
    expect(put.status).toBe(200);
    const refused = await call("POST", "/api/keel/models/credit/canary-approval", writer, {
      version: b,
      reason: "looks fine to me",
    });
    expect(refused.status).toBe(403);
    for (let i = 0; i < 4; i++) {
      clock.t += 60_000;
      await serving.sync();
    }
    await serving.canariesStored();
    expect((await s.registry.getVersionByAlias("credit", "champion")).version).toBe(a);
    const predict = async () => {
      const out: { route: string; version: string }[] = [];
      for (let e = 0; e < 100; e++) {
        const r = await fetch(`${server.url}/api/keel/endpoints/credit/predict`, {
          method: "POST",
          headers: { authorization: writer, "content-type": "application/json", "x-keel-entity-id": `app-${e}` },
          body: JSON.stringify([v1.row(e)]),
        });
        const p = ((await r.json()) as { predictions: { route: string; model_version: string }[] }).predictions[0];
        out.push({ route: p?.route ?? "", version: p?.model_version ?? "" });
      }
      return out;
    };
    const held = await predict();
    expect(held.filter((p) => p.route === "canary").length).toBeLessThan(75);
    expect(held.filter((p) => p.route === "champion").every((p) => p.version === a)).toBe(true);

    // the rollout report pairs every canary answer with the champion's answer to the same request
    await new Promise((r) => setTimeout(r, 200));
    await s.stores.inferenceLog.flush();
    const report = await call("GET", `/api/keel/models/credit/rollout-report?from=0&to=${clock.t + 1}`, reader);
    expect(report.status).toBe(200);
    const canaried = held.filter((p) => p.route === "canary").length;
    expect(report.body).toMatchObject({
      model: "credit",
      champion_version: a,
      candidates: [{ version: b, routes: ["canary"], requests: canaried, paired: canaried, comparison: null }],
    });
    const bad = await call("GET", "/api/keel/models/credit/rollout-report?alpha=2", reader);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/alpha = 2: must be a number in \(0, 1\)/);

    const approved = await call("POST", "/api/keel/models/credit/canary-approval", approver, {
      version: b,
      reason: "rollout report 2026-12-04",
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ model: "credit", version: b, approver: "approver-token" });
    clock.t += 60_000;
    await serving.sync();
    clock.t += 60_000;
    await serving.sync();
    await serving.canariesStored();
    expect((await s.registry.getVersionByAlias("credit", "champion")).version).toBe(b);
    const audit = await s.stores.audit.list({ limit: 1000 });
    expect(audit.find((r) => r.action === "canary.approve")?.actor).toBe("approver-token");
    expect(audit.find((r) => r.action === "registered_model.promote")?.actor).toBe("approver-token");
  });
});

describe("the champion route over HTTP with auth on", () => {
  it("a writer cannot make an unapproved version answer as champion by pinning it in an endpoint; an approver can", async () => {
    stack = await openStack();
    const s = stack;
    const a = await s.register("credit", "xgb_binary.json");
    const b = await s.register("credit", "xgb_binary_base.json");
    await s.registry.setAlias("credit", "champion", a);
    await s.registry.setAlias("credit", "staging", b);
    const token = async (role: "writer" | "approver") =>
      `Bearer ${(await s.stores.tokens.create({ name: `${role}-token`, role })).token}`;
    const [writer, approver] = [await token("writer"), await token("approver")];
    const serving = new ModelServer({
      registry: s.registry,
      loadModel: fixtureLoader,
      pollIntervalMs: 600_000,
      inferenceLog: s.stores.inferenceLog,
      endpointStore: s.stores.endpoints,
    });
    await serving.start();
    const config = loadConfig({ flags: { port: 0, dataDir: s.dir, logLevel: "silent", authEnabled: true }, env: {} });
    const server = await startServer({ config, stores: s.stores, serving });
    served = {
      url: server.url,
      serving,
      server,
      close: async () => {
        await server.close();
        await serving.stop();
      },
    };
    const put = async (auth: string, body: unknown) =>
      (
        await fetch(`${server.url}/api/keel/endpoints/credit`, {
          method: "PUT",
          headers: { authorization: auth, "content-type": "application/json" },
          body: JSON.stringify(body),
        })
      ).status;
    const champions = async () => {
      const versions = new Set<string>();
      for (let e = 0; e < 20; e++) {
        const r = await fetch(`${server.url}/api/keel/endpoints/credit/predict`, {
          method: "POST",
          headers: { authorization: writer, "content-type": "application/json" },
          body: JSON.stringify([v1.row(e)]),
        });
        const p = ((await r.json()) as { predictions: { route: string; model_version: string }[] }).predictions[0];
        if (p?.route === "champion") versions.add(p.model_version);
      }
      return [...versions];
    };
    // Every way of naming what answers as champion other than the model's champion alias.
    for (const champion of [{ version: b }, { alias: "staging" }, { model: "credit", version: b }]) {
      expect(await put(writer, { model: "credit", champion })).toBe(403);
    }
    expect(await put(writer, { model: "credit", champion: { alias: "champion" }, shadows: [{ version: b }] })).toBe(
      200,
    );
    expect(await champions()).toEqual([a]);
    expect(await put(approver, { model: "credit", champion: { version: b } })).toBe(200);
    expect(await champions()).toEqual([b]);
    const audit = await s.stores.audit.list({ limit: 1000 });
    expect(audit.filter((r) => r.targetType === "serving_endpoint").map((r) => r.actor)).toEqual([
      "writer-token",
      "approver-token",
    ]);
  });
});

describe("a canary behind the challenger_beats_champion gate", () => {
  it("holds until labels show the canary better on the paired requests, then advances with the report as evidence", async () => {
    stack = await openStack();
    const s = stack;
    // The weaker model is champion; outcomes are drawn from the stronger one's probabilities.
    const weak = await s.register("credit", "xgb_binary_base.json");
    const strong = await s.register("credit", "xgb_binary.json");
    await s.registry.setAlias("credit", "champion", weak);
    await s.stores.canaries.approve({ modelName: "credit", modelVersion: strong, approver: "alice", reason: "gated" });
    const clock = { t: 40_000_000 };
    served = await serve(s, {
      clock: () => clock.t,
      pollIntervalMs: 600_000,
      inferenceLog: s.stores.inferenceLog,
      canaries: { store: s.stores.canaries, registry: s.registry },
      canaryGate: canaryGateEvaluator({
        registry: s.registry,
        inferenceLog: s.stores.inferenceLog,
        labels: s.stores.labels,
      }),
      endpoints: [
        parseEndpointConfig({
          name: "credit",
          model: "credit",
          canary: {
            version: strong,
            steps: [50, 100],
            stepSeconds: 60,
            gate: { gate: "challenger_beats_champion", minAucGain: 0, alpha: 0.1 },
          },
        }),
      ],
    });
    let seed = 5;
    const uniform = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const outcomes: { requestId: string; label: number }[] = [];
    for (let k = 0; k < 1000; k++) {
      clock.t += 50;
      const row = k % 200;
      await post(`${served.url}/api/keel/endpoints/credit/predict`, [v1.row(row)], { "x-request-id": `g-${k}` });
      outcomes.push({ requestId: `g-${k}`, label: uniform() < (v1.expected[row] as number) ? 1 : 0 });
    }
    await new Promise((r) => setTimeout(r, 200));
    await s.stores.inferenceLog.flush();
    clock.t += 60_000;
    await served.serving.sync();
    await served.serving.canariesStored();
    let stored = await s.stores.canaries.get("credit");
    expect(stored).toMatchObject({ status: "running", step: 0 });
    expect(stored?.reason).toMatch(/^challenger_beats_champion: 0 labelled paired requests/);

    await ingestLabels(
      s.stores.labels,
      outcomes.map((o) => ({ ...o, source: "test" })),
      { actor: "test" },
    );
    clock.t += 60_000;
    await served.serving.sync();
    await served.serving.canariesStored();
    stored = await s.stores.canaries.get("credit");
    expect(stored).toMatchObject({ status: "running", step: 1 });
    const advance = stored?.decisions.at(-1);
    expect(advance?.action).toBe("advance");
    const evidence = advance?.evidence as {
      gate: string;
      report: { candidates: { version: string; paired: number; comparison: { verdict: string } }[] };
    };
    expect(evidence.gate).toMatch(/^challenger_beats_champion passed: AUC gain/);
    const candidate = evidence.report.candidates.find((c) => c.version === strong);
    expect(candidate?.comparison.verdict).toBe("better");
    expect(candidate?.paired).toBeGreaterThan(200);
    const audit = await s.stores.audit.list({ limit: 1000 });
    expect(audit.filter((r) => r.targetType === "serving_canary").map((r) => r.action)).toEqual([
      "serving_canary.start",
      "serving_canary.hold",
      "serving_canary.advance",
    ]);
  });
});
