import { sql } from "kysely";
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { loadPredictor } from "../../src/learn/load-model.js";
import { SqlInferenceLog } from "../../src/store/inference-log-sql.js";
import { inPercent, parseEndpointConfig, type ModelLoader } from "../../src/serving/index.js";
import { fixture, get, openInferenceLog, openStack, post, serve, type Served, type Stack } from "./harness.js";

const v1 = fixture("xgb_binary.json");
const v2 = fixture("xgb_binary_base.json");
const COLS = ["a", "b", "c", "d", "e"];

let stack: Stack | undefined;
let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  await stack?.close();
  served = undefined;
  stack = undefined;
});

function oipBody(rows: number[], id?: string): unknown {
  return {
    ...(id ? { id } : {}),
    inputs: COLS.map((name) => ({
      name,
      shape: [rows.length],
      datatype: "FP64",
      data: rows.map((i) => v1.columns[name]?.[i] ?? null),
    })),
  };
}

interface OipAnswer {
  model_version: string;
  id: string;
  parameters: { route: string; fallback?: string };
  outputs: { data: number[] }[];
}

describe("model lifecycle", () => {
  it("follows a champion move during a load run with zero failed requests", async () => {
    stack = await openStack();
    const a = await stack.register("credit", "xgb_binary.json");
    const b = await stack.register("credit", "xgb_binary_base.json");
    await stack.registry.setAlias("credit", "champion", a);
    served = await serve(stack, { pollIntervalMs: 50 });
    const url = `${served.url}/v2/models/credit/infer`;
    const seen = { [a]: 0, [b]: 0 } as Record<string, number>;
    let failures = 0;
    let wrong = 0;
    let stop = false;
    let sent = 0;
    const worker = async (w: number) => {
      while (!stop) {
        const row = (w * 37 + sent++) % 200;
        const r = await post(url, oipBody([row]));
        if (r.status !== 200) {
          failures++;
          continue;
        }
        const body = r.body as OipAnswer;
        seen[body.model_version] = (seen[body.model_version] ?? 0) + 1;
        const want = (body.model_version === a ? v1 : v2).expected[row] as number;
        if (Math.abs((body.outputs[0]?.data[0] as number) - want) > 1e-6) wrong++;
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setTimeout(r, 10));
    };
    await until(() => (seen[a] ?? 0) >= 100 || failures > 0);
    await stack.registry.setAlias("credit", "champion", b);
    const movedAt = Date.now();
    await until(() => (seen[b] ?? 0) > 0 || Date.now() - movedAt > 10_000);
    const switched = Date.now() - movedAt;
    await until(() => (seen[b] ?? 0) >= 100 || failures > 0 || Date.now() - movedAt > 20_000);
    stop = true;
    await Promise.all(workers);
    expect(failures).toBe(0);
    expect(wrong).toBe(0);
    expect(seen[a]).toBeGreaterThanOrEqual(100);
    expect(seen[b]).toBeGreaterThanOrEqual(100);
    expect(switched).toBeLessThan(5000); // polled every 50 ms: the move is followed within seconds
    // the old version was drained and closed: one model left in memory
    expect((await get(`${served.url}/metrics`)).text).toContain("keel_serving_models_loaded 1");
    expect((await get(`${served.url}/api/keel/endpoints`)).body).toMatchObject({
      endpoints: [{ name: "credit", versions: { champion: b } }],
    });
  });

  it("gives hundreds of concurrent mixed-size requests the same answers as scoring them alone", async () => {
    stack = await openStack();
    await stack.registry.setAlias("credit", "champion", await stack.register("credit", "xgb_binary.json"));
    served = await serve(stack);
    const requests = Array.from({ length: 300 }, (_, r) => {
      const n = 1 + ((r * 7) % 13);
      return Array.from({ length: n }, (_, i) => (r * 11 + i * 3) % 200);
    });
    const url = `${served.url}/v2/models/credit/infer`;
    const together = await Promise.all(requests.map((rows, r) => post(url, oipBody(rows, `req-${r}`))));
    for (const [r, res] of together.entries()) {
      expect(res.status).toBe(200);
      const body = res.body as OipAnswer;
      expect(body.id).toBe(`req-${r}`);
      const alone = await post(url, oipBody(requests[r] as number[]));
      expect(body.outputs[0]?.data).toEqual((alone.body as OipAnswer).outputs[0]?.data);
      body.outputs[0]?.data.forEach((s, i) => expect(s).toBeCloseTo(v1.expected[requests[r]![i]!] as number, 6));
    }
    const metrics = (await get(`${served.url}/metrics`)).text;
    const count = /keel_serving_batch_size_rows_count\{model="credit",model_version="1"\} (\d+)/.exec(metrics);
    const merged = Number(count?.[1]);
    expect(merged).toBeLessThan(300 + 300 + 1); // 300 concurrent + 300 lone requests + warm-up, fewer calls once merged
  });
});

describe("traffic policy", () => {
  it("splits champion / challenger sticky by entity, runs shadows off the response and logs them", async () => {
    stack = await openStack();
    const a = await stack.register("credit", "xgb_binary.json");
    const b = await stack.register("credit", "xgb_binary_base.json");
    await stack.registry.setAlias("credit", "champion", a);
    await stack.registry.setAlias("credit", "challenger", b);
    const { meta, log } = await openInferenceLog(stack, 20);
    served = await serve(stack, {
      inferenceLog: log,
      endpoints: [
        parseEndpointConfig({
          name: "loans",
          model: "credit",
          challenger: { alias: "challenger", percent: 30 },
          shadows: [{ version: b }],
          inferenceLog: { audit: "sync" },
        }),
      ],
    });
    const url = `${served.url}/api/keel/endpoints/loans/predict`;
    const routes = new Map<string, string>();
    for (let e = 0; e < 200; e++) {
      const r = await post(url, [v1.row(e)], { "x-keel-entity-id": `applicant-${e}`, "x-request-id": `r-${e}` });
      expect(r.status).toBe(200);
      const p = (r.body as { predictions: { score: number; route: string; model_version: string }[] }).predictions[0];
      routes.set(`applicant-${e}`, p?.route ?? "");
      expect(p?.route === "challenger" ? p.model_version : a).toBe(p?.route === "challenger" ? b : p?.model_version);
      expect(p?.score).toBeCloseTo((p?.route === "challenger" ? v2 : v1).expected[e] as number, 6);
      // sync audit: the request's own record is committed before the response arrives
      if (e % 50 === 0)
        expect((await new SqlInferenceLog(meta).query({ requestIds: [`r-${e}`], route: p?.route })).length).toBe(1);
    }
    const share = [...routes.values()].filter((r) => r === "challenger").length / 200;
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.42);
    // sticky: the same applicant gets the same route again
    for (const e of [3, 17, 42]) {
      const r = await post(url, [v1.row(e)], { "x-keel-entity-id": `applicant-${e}` });
      expect((r.body as { predictions: { route: string }[] }).predictions[0]?.route).toBe(routes.get(`applicant-${e}`));
    }
    await new Promise((r) => setTimeout(r, 300));
    const shadows = await log.query({ endpoint: "loans", route: "shadow" });
    expect(shadows.filter((s) => s.modelVersion === b).length).toBeGreaterThanOrEqual(200);
    // a challenger's request is scored by the champion too (the rollout report's paired evidence)
    const championShadows = shadows.filter((s) => s.modelVersion === a);
    expect(championShadows.length).toBeGreaterThanOrEqual(share * 200);
    expect(championShadows.every((s) => routes.get(s.entityId ?? "") === "challenger")).toBe(true);
    expect(championShadows.length + shadows.filter((s) => s.modelVersion === b).length).toBe(shadows.length);
    const s0 = shadows.find((s) => s.requestId === "r-0" && s.modelVersion === b);
    expect(s0?.outputs.score).toBeCloseTo(v2.expected[0] as number, 6);
    expect(s0?.entityId).toBe("applicant-0");
    expect(s0?.features).toEqual(v1.row(0));
    await served.close();
    served = undefined;
    await log.close();
    await meta.close();
  });

  it("keeps a shadow's answers in its request's log row (async log): one row per request, read back as shadow records", async () => {
    stack = await openStack();
    const a = await stack.register("credit", "xgb_binary.json");
    const b = await stack.register("credit", "xgb_binary_base.json");
    await stack.registry.setAlias("credit", "champion", a);
    const { meta, db, log } = await openInferenceLog(stack, 20);
    served = await serve(stack, {
      inferenceLog: log,
      endpoints: [parseEndpointConfig({ name: "loans", model: "credit", shadows: [{ version: b }] })],
    });
    const url = `${served.url}/api/keel/endpoints/loans/predict`;
    // Concurrent requests, so the shadow scores several held requests in one batch.
    const n = 120;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, e) => post(url, [v1.row(e)], { "x-request-id": `q-${e}` })),
    );
    for (const [e, r] of answers.entries()) {
      const p = (r.body as { predictions: { score: number; route: string }[] }).predictions[0];
      expect(p?.route).toBe("champion");
      expect(p?.score).toBeCloseTo(v1.expected[e] as number, 6);
    }
    // A request to one version directly is logged too, route "direct", under the model's policy.
    const direct = await post(`${served.url}/v2/models/credit/versions/${b}/infer`, {
      id: "direct-1",
      inputs: COLS.map((c) => ({ name: c, shape: [1], datatype: "FP64", data: [v1.row(0)[c] ?? null] })),
    });
    expect(direct.status).toBe(200);
    await served.close();
    served = undefined;
    await log.close();
    const logged = await new SqlInferenceLog(meta).query({ requestIds: ["direct-1"] });
    expect(logged.map((r) => [r.route, r.modelVersion])).toEqual([["direct", b]]);
    expect(logged[0]?.outputs.score).toBeCloseTo(v2.expected[0] as number, 6);

    const rows = await sql<{
      n: number;
      carriers: number;
    }>`select count(*) as n, count(shadows) as carriers from inference_log`.execute(db);
    expect(rows.rows[0]).toEqual({ n: n + 1, carriers: n }); // + the direct request's row
    const reader = new SqlInferenceLog(meta);
    const champion = await reader.query({ endpoint: "loans", route: "champion" });
    const shadow = await reader.query({ endpoint: "loans", route: "shadow" });
    expect(champion.length).toBe(n);
    expect(shadow.length).toBe(n);
    for (const s of shadow) {
      const e = Number(s.requestId.slice(2));
      expect(s.modelVersion).toBe(b);
      expect(s.outputs.score).toBeCloseTo(v2.expected[e] as number, 6);
      expect(s.features).toEqual(v1.row(e));
    }
    // Monitoring reads the shadow version like any other version.
    expect((await reader.query({ modelName: "credit", modelVersion: b })).length).toBe(n + 1); // + the direct request
    expect((await reader.query({ modelName: "credit", modelVersion: a })).length).toBe(n);
    await meta.close();
  });

  it("writes a request's log row without a stuck shadow's answer once shadowLogWaitMs has passed", async () => {
    stack = await openStack();
    const a = await stack.register("credit", "xgb_binary.json");
    const b = await stack.register("credit", "xgb_binary_base.json");
    await stack.registry.setAlias("credit", "champion", a);
    // The shadow answers its warm-up, then holds every call until released.
    let stuck = false;
    const releases: (() => void)[] = [];
    const loadModel: ModelLoader = async (mv) => {
      const p = await loadPredictor(new Uint8Array(await readFile(mv.source)));
      if (mv.version !== b) return p;
      return {
        format: p.format,
        task: p.task,
        signature: p.signature,
        predict: (frame) =>
          stuck ? new Promise((resolve) => releases.push(() => resolve(p.predict(frame)))) : p.predict(frame),
        close: () => p.close(),
      };
    };
    const { meta, log } = await openInferenceLog(stack, 10);
    served = await serve(stack, {
      loadModel,
      inferenceLog: log,
      shadowLogWaitMs: 100,
      endpoints: [parseEndpointConfig({ name: "loans", model: "credit", shadows: [{ version: b }] })],
    });
    stuck = true;
    for (let e = 0; e < 3; e++) {
      const r = await post(`${served.url}/api/keel/endpoints/loans/predict`, [v1.row(e)], { "x-request-id": `s-${e}` });
      expect(r.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 400));
    expect(releases.length).toBeGreaterThan(0);
    const reader = new SqlInferenceLog(meta);
    expect((await reader.query({ endpoint: "loans", route: "champion" })).map((r) => r.requestId)).toEqual([
      "s-0",
      "s-1",
      "s-2",
    ]);
    expect(await reader.query({ endpoint: "loans", route: "shadow" })).toEqual([]);
    stuck = false;
    for (const release of releases) release();
    await served.close();
    served = undefined;
    await log.close();
    await meta.close();
  });

  it("scores and logs values outside the training range by default; refuses them only where the endpoint says so, counted and logged", async () => {
    stack = await openStack();
    // A signature whose observed range of "a" no request row falls in.
    const signature = {
      inputs: COLS.map((name) => ({
        name,
        type: "double" as const,
        nullable: true,
        ...(name === "a" ? { range: { min: 1e6, max: 2e6 } } : {}),
      })),
      outputs: [{ name: "score", type: "double" as const, nullable: false }],
    };
    const a = await stack.register("credit", "xgb_binary.json", signature);
    await stack.registry.setAlias("credit", "champion", a);
    const { meta, log } = await openInferenceLog(stack, 10);
    const e = [...Array(200).keys()].find((i) => v1.row(i).a !== null && v1.row(i).a !== undefined) as number;
    const value = v1.row(e).a as number;
    served = await serve(stack, {
      inferenceLog: log,
      endpoints: [
        parseEndpointConfig({ name: "strict", model: "credit", input: { ranges: "reject" } }),
        // A hard business limit, declared by the user: every row's `a` lies above it.
        parseEndpointConfig({ name: "limited", model: "credit", limits: { a: { max: value - 1 } } }),
      ],
    });
    // The endpoint keel makes from the champion alias: scored and logged.
    const open = await post(`${served.url}/api/keel/endpoints/credit/predict`, [v1.row(e)], {
      "x-request-id": "wide-1",
    });
    expect(open.status).toBe(200);
    const p = (open.body as { predictions: { score: number; decision: string }[] }).predictions[0];
    expect(p?.score).toBeCloseTo(v1.expected[e] as number, 6);
    expect(p?.decision).toBe((v1.expected[e] as number) >= 0.5 ? "reject" : "approve");

    const strict = await post(`${served.url}/api/keel/endpoints/strict/predict`, [v1.row(e)], {
      "x-request-id": "strict-1",
    });
    expect(strict.status).toBe(400);
    expect(JSON.stringify(strict.body)).toContain("must be within the declared range [1000000, 2000000]");
    const limited = await post(`${served.url}/api/keel/endpoints/limited/predict`, [v1.row(e)], {
      "x-request-id": "limit-1",
    });
    expect(limited.status).toBe(400);
    expect(JSON.stringify(limited.body)).toContain(
      `a = ${value}: must be within the endpoint's business limit [-∞, ${value - 1}]`,
    );
    const metrics = (await get(`${served.url}/metrics`)).text;
    expect(metrics).toContain(
      `keel_serving_errors_total{endpoint="strict",model_version="${a}",route="champion",kind="invalid_input"} 1`,
    );
    expect(metrics).toContain(
      `keel_serving_errors_total{endpoint="limited",model_version="${a}",route="champion",kind="business_limit"} 1`,
    );
    await served.close();
    served = undefined;
    await log.close();
    const logged = await new SqlInferenceLog(meta).query({ requestIds: ["wide-1", "strict-1", "limit-1"] });
    const byId = new Map(logged.map((r) => [r.requestId, r]));
    expect(byId.get("wide-1")).toMatchObject({ route: "champion", features: { a: value } });
    expect(byId.get("strict-1")).toMatchObject({ endpoint: "strict", route: "refused", features: { a: value } });
    expect(byId.get("strict-1")?.outputs.refused).toContain("must be within the declared range");
    expect(byId.get("limit-1")).toMatchObject({ endpoint: "limited", route: "refused" });
    expect(byId.get("limit-1")?.outputs.refused).toContain("business limit");
    expect(() => parseEndpointConfig({ name: "x", model: "m", input: { ranges: "warn" } })).toThrow(
      "endpoint.input.ranges",
    );
    expect(() => parseEndpointConfig({ name: "x", model: "m", limits: { a: { min: 2, max: 1 } } })).toThrow(
      "endpoint.limits.a.max = 1: must be ≥ min 2",
    );
    await meta.close();
  });

  it("answers from the previous version when the champion passes its deadline, marked in the response and the metrics", async () => {
    stack = await openStack();
    const good = await stack.register("credit", "xgb_binary_base.json");
    const slow = await stack.register("credit", "xgb_binary.json");
    await stack.registry.setAlias("credit", "champion", good);
    await stack.registry.setAlias("credit", "champion", slow);
    // The new champion (40 trees) scores big requests on worker threads, so a 1 ms deadline passes first;
    // the previous version scores on the calling thread, within the same turn.
    const loadModel: ModelLoader = async (mv) =>
      loadPredictor(new Uint8Array(await readFile(mv.source)), { threads: mv.version === slow ? 2 : 1 });
    served = await serve(stack, {
      loadModel,
      endpoints: [
        parseEndpointConfig({ name: "credit", model: "credit", deadlineMs: 1, fallback: { previousVersion: true } }),
      ],
    });
    expect((await get(`${served.url}/api/keel/endpoints`)).body).toMatchObject({
      endpoints: [{ versions: { champion: slow, fallback: good } }],
    });
    const rows = Array.from({ length: 60_000 }, (_, i) => i % 200);
    const r = await post(`${served.url}/v2/models/credit/infer`, oipBody(rows));
    expect(r.status).toBe(200);
    const body = r.body as OipAnswer;
    expect(body.model_version).toBe(good);
    expect(body.parameters).toEqual({ route: "fallback", fallback: "deadline" });
    for (const i of [0, 1, 199, 59_999])
      expect(body.outputs[0]?.data[i]).toBeCloseTo(v2.expected[rows[i] as number] as number, 6);
    const metrics = (await get(`${served.url}/metrics`)).text;
    expect(metrics).toContain('keel_serving_fallbacks_total{endpoint="credit",reason="deadline"} 1');
    expect(metrics).toContain(
      `keel_serving_errors_total{endpoint="credit",model_version="${slow}",route="champion",kind="deadline"} 1`,
    );
  });

  it("answers repeated inputs from the cache, keyed by the canonical row", async () => {
    stack = await openStack();
    await stack.registry.setAlias("credit", "champion", await stack.register("credit", "xgb_binary.json"));
    served = await serve(stack, {
      endpoints: [parseEndpointConfig({ name: "credit", model: "credit", cache: { ttlSeconds: 60 } })],
    });
    const url = `${served.url}/api/keel/endpoints/credit/predict`;
    const first = await post(url, [{ a: 0.5, b: 1, c: 2, d: null, e: 0 }]);
    const second = await post(url, [{ e: 0, d: null, c: 2.0, b: 1, a: 0.5 }]);
    expect(second.body).toMatchObject({ predictions: (first.body as { predictions: unknown[] }).predictions });
    const metrics = (await get(`${served.url}/metrics`)).text;
    expect(metrics).toContain('keel_serving_cache_hits_total{endpoint="credit"} 1');
    expect(metrics).toContain('keel_serving_cache_misses_total{endpoint="credit"} 1');
  });

  it("moves a canary 5% → 25% on the clock and rolls it back when an alert fires", async () => {
    stack = await openStack();
    const a = await stack.register("credit", "xgb_binary.json");
    const b = await stack.register("credit", "xgb_binary_base.json");
    await stack.registry.setAlias("credit", "champion", a);
    const clock = { t: 1_000_000 };
    let alert = false;
    served = await serve(stack, {
      clock: () => clock.t,
      pollIntervalMs: 60_000,
      isAlertFiring: () => alert,
      endpoints: [parseEndpointConfig({ name: "credit", model: "credit", canary: { version: b, stepSeconds: 60 } })],
    });
    const url = `${served.url}/api/keel/endpoints/credit/predict`;
    const share = async () => {
      let canary = 0;
      for (let e = 0; e < 400; e++) {
        const r = await post(url, [v1.row(e % 200)], { "x-keel-entity-id": `applicant-${e}` });
        const p = (r.body as { predictions: { route: string; model_version: string }[] }).predictions[0];
        if (p?.route === "canary") {
          expect(p.model_version).toBe(b);
          canary++;
        }
      }
      return canary / 400;
    };
    const first = await share();
    expect(first).toBeGreaterThan(0.01);
    expect(first).toBeLessThan(0.1);
    clock.t += 30_000;
    await served.serving.sync();
    expect(await share()).toBe(first); // not yet time to advance; sticky keys keep their route
    clock.t += 30_000;
    await served.serving.sync();
    const second = await share();
    expect(second).toBeGreaterThan(0.17);
    expect(second).toBeLessThan(0.33);
    alert = true;
    await served.serving.sync();
    expect(await share()).toBe(0);
    expect((await get(`${served.url}/api/keel/endpoints`)).body).toMatchObject({
      endpoints: [{ canary: { status: "rolled_back", reason: "an alert fired on the endpoint" } }],
    });
  });

  it("rolls a canary back when the alert engine reports an alert on its model: champion again, counted and logged", async () => {
    stack = await openStack();
    const a = await stack.register("credit", "xgb_binary.json");
    const b = await stack.register("credit", "xgb_binary_base.json");
    await stack.registry.setAlias("credit", "champion", a);
    const { meta, log } = await openInferenceLog(stack, 20);
    served = await serve(stack, {
      clock: () => 5_000_000,
      inferenceLog: log,
      pollIntervalMs: 60_000,
      endpoints: [parseEndpointConfig({ name: "credit", model: "credit", canary: { version: b, steps: [50, 100] } })],
    });
    const url = `${served.url}/api/keel/endpoints/credit/predict`;
    const routes = async () => {
      const out: { route: string; version: string; score: number }[] = [];
      for (let e = 0; e < 60; e++) {
        const r = await post(url, [v1.row(e)], { "x-keel-entity-id": `applicant-${e}` });
        const p = (r.body as { predictions: { route: string; model_version: string; score: number }[] }).predictions[0];
        out.push({ route: p?.route ?? "", version: p?.model_version ?? "", score: p?.score ?? NaN });
      }
      return out;
    };
    const before = await routes();
    const canaried = before.flatMap((r, e) => (r.route === "canary" ? [e] : []));
    expect(canaried.length).toBeGreaterThan(15);
    expect(canaried.every((e) => before[e]?.version === b)).toBe(true);
    expect(before[canaried[0] as number]?.score).toBeCloseTo(v2.expected[canaried[0] as number] as number, 6);

    // a notify-tier alert, or one about another version, leaves the canary alone
    expect(served.serving.handleAlert({ modelName: "credit", tier: "notify" })).toEqual([]);
    expect(served.serving.handleAlert({ modelName: "credit", modelVersion: a, tier: "page" })).toEqual([]);
    expect(served.serving.handleAlert({ modelName: "other", tier: "page" })).toEqual([]);
    expect((await routes()).map((r) => r.route)).toEqual(before.map((r) => r.route));

    const rolled = served.serving.handleAlert({ modelName: "credit", tier: "page", rule: "ks_3_features" });
    expect(rolled).toEqual([
      { endpoint: "credit", modelName: "credit", modelVersion: b, reason: "page alert ks_3_features on model credit" },
    ]);
    const after = await routes();
    expect(after.every((r) => r.route === "champion" && r.version === a)).toBe(true);
    for (const e of canaried) expect(after[e]?.score).toBeCloseTo(v1.expected[e] as number, 6);
    expect(served.serving.handleAlert({ modelName: "credit", tier: "page" })).toEqual([]);
    expect(() => served?.serving.rollbackCanary("nope", "test")).toThrow(/endpoint "nope" does not exist/);

    const metrics = (await get(`${served.url}/metrics`)).text;
    expect(metrics).toContain(
      `keel_serving_canary_rollbacks_total{endpoint="credit",model_version="${b}",trigger="alert"} 1`,
    );
    expect(metrics).toContain(`keel_serving_canary_traffic_percent{endpoint="credit",model_version="${b}"} 0`);
    const marks = await log.query({ endpoint: "credit", route: "canary_rollback" });
    expect(marks).toHaveLength(1);
    expect(marks[0]).toMatchObject({
      modelName: "credit",
      modelVersion: b,
      time: 5_000_000,
      outputs: { trigger: "alert", reason: "page alert ks_3_features on model credit" },
    });
    expect((await log.query({ endpoint: "credit", route: "canary" })).length).toBe(2 * canaried.length);
    expect((await get(`${served.url}/api/keel/endpoints`)).body).toMatchObject({
      endpoints: [{ canary: { status: "rolled_back", reason: "page alert ks_3_features on model credit" } }],
    });
    await served.close();
    served = undefined;
    await log.close();
    await meta.close();
  });

  it("drops shadow work past the queue bound instead of holding the served route", async () => {
    stack = await openStack();
    const a = await stack.register("credit", "xgb_binary.json");
    const b = await stack.register("credit", "xgb_binary_base.json");
    await stack.registry.setAlias("credit", "champion", a);
    served = await serve(stack, {
      shadowQueueLimit: 0,
      endpoints: [parseEndpointConfig({ name: "credit", model: "credit", shadows: [{ version: b }] })],
    });
    for (let e = 0; e < 5; e++) {
      const r = await post(`${served.url}/api/keel/endpoints/credit/predict`, [v1.row(e)]);
      expect((r.body as { predictions: { route: string }[] }).predictions[0]?.route).toBe("champion");
    }
    await new Promise((r) => setTimeout(r, 50));
    const metrics = (await get(`${served.url}/metrics`)).text;
    expect(metrics).toContain(
      `keel_serving_shadow_requests_total{endpoint="credit",model_version="${b}",outcome="dropped"} 5`,
    );
    expect(metrics).not.toContain('outcome="ok"');
  });

  it("samples the inference log by a hash of the request id", async () => {
    stack = await openStack();
    await stack.registry.setAlias("credit", "champion", await stack.register("credit", "xgb_binary.json"));
    const { meta, log } = await openInferenceLog(stack, 10);
    served = await serve(stack, {
      inferenceLog: log,
      endpoints: [parseEndpointConfig({ name: "credit", model: "credit", inferenceLog: { sampleRate: 0.25 } })],
    });
    const ids = Array.from({ length: 400 }, (_, i) => `req-${i}`);
    for (const id of ids) {
      expect(
        (await post(`${served.url}/api/keel/endpoints/credit/predict`, [v1.row(1)], { "x-request-id": id })).status,
      ).toBe(200);
    }
    await served.close();
    served = undefined;
    const logged = new Set((await log.query({ endpoint: "credit" })).map((r) => r.requestId));
    expect([...logged].sort()).toEqual(ids.filter((id) => inPercent(id, 25)).sort());
    expect(logged.size / 400).toBeGreaterThan(0.18);
    expect(logged.size / 400).toBeLessThan(0.32);
    await log.close();
    await meta.close();
  });
});
