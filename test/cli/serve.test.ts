import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AlertJson, MonitorRunJson } from "../../src/client/index.js";
import { attachTrainingProfile } from "../../src/pipeline/index.js";
import type { CliContext } from "../../src/cli/context.js";
import { startKeelServer, type KeelServer, type ServeOptions } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { writeTable } from "../../src/data/io.js";
import type { Frame } from "../../src/data/index.js";
import { generateLoanApplications, LOAN_FEATURES } from "../../src/data/loan-applications.js";
import { KeelPredictor, serializeKeelModel, type KeelModel } from "../../src/learn/keel-model.js";
import { trainModel } from "../../src/learn/train.js";
import { computeDrift, loadReferenceProfile } from "../../src/monitoring/index.js";
import { openStores, type Stores } from "../../src/open-stores.js";
import type { InferenceRecord } from "../../src/store/inference-log.js";

const MODEL = "loan-default";
const ENDPOINT = "loans";
const HOUR = 3_600_000;
const SOURCE = `mlflow-artifacts:/models/${MODEL}/model.json`;

/** The registered model: a small GBDT trained by keel on generated applications (as bench/serving.ts does). */
interface Trained {
  readonly model: KeelModel;
  readonly bytes: Uint8Array;
  readonly checksum: string;
  readonly training: Frame;
  /** Six months of drift (a souring economy): credit_score PSI well above 0.25 against `training`. */
  readonly drifted: Frame;
  readonly driftedScores: Float64Array;
}

let trained: Trained;

beforeAll(async () => {
  const training = generateLoanApplications({ rows: 2000, seed: 7, driftMonths: 0 });
  const result = await trainModel(training, {
    target: "default",
    idColumn: "applicant_id",
    params: { n_estimators: 30, max_depth: 3, learning_rate: 0.2, seed: 0 },
  });
  const drifted = generateLoanApplications({ rows: 2000, seed: 13, driftMonths: 6 });
  const predictor = new KeelPredictor(result.model);
  let driftedScores: Float64Array;
  try {
    driftedScores = await predictor.predict(drifted);
  } finally {
    await predictor.close();
  }
  const bytes = new TextEncoder().encode(serializeKeelModel(result.model));
  trained = {
    model: result.model,
    bytes,
    checksum: createHash("sha256").update(bytes).digest("hex"),
    training,
    drifted,
    driftedScores,
  };
});

/** Row `i` of a frame as a predict-API record / inference-log features (the model's inputs only). */
function record(f: Frame, i: number): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  for (const c of f.columns) {
    if (!(LOAN_FEATURES as readonly string[]).includes(c.name)) continue;
    if (c.kind === "numeric") {
      const v = c.values[i]!;
      out[c.name] = Number.isNaN(v) ? null : v;
    } else {
      const code = c.codes[i]!;
      out[c.name] = code < 0 ? null : c.dictionary[code]!;
    }
  }
  return out;
}

/** The drifted population as serving would have logged it for one version and route, one row a second. */
function driftedRecords(version: string, route: string, start: number): InferenceRecord[] {
  const { drifted, driftedScores } = trained;
  return Array.from({ length: drifted.nRows }, (_, i) => {
    const score = driftedScores[i]!;
    return {
      requestId: `drift-v${version}-${i}`,
      time: start + i * 1000,
      endpoint: ENDPOINT,
      modelName: MODEL,
      modelVersion: version,
      route,
      entityId: `D${i}`,
      features: record(drifted, i),
      outputs: { score, decision: score >= 0.5 ? "reject" : "approve" },
      latencyMs: 1,
    };
  });
}

/**
 * Registers `versions` versions of the trained model as a user would (artifact store, checksum,
 * signature), sets `champion` to version 1, and saves each version's reference profile from the
 * training rows as `keel pipeline run` does on registration.
 */
async function registerModel(stores: Stores, versions: number): Promise<void> {
  await stores.artifacts.putFile(`models/${MODEL}/model.json`, trained.bytes);
  for (let v = 1; v <= versions; v++) {
    const mv = await stores.registry.createModelVersion({
      name: MODEL,
      source: SOURCE,
      checksum: trained.checksum,
      signature: trained.model.signature,
    });
    expect(mv.version).toBe(String(v));
    await attachTrainingProfile(stores, {
      name: MODEL,
      version: mv.version,
      training: trained.training,
      model: trained.model,
    });
  }
  await stores.registry.setAlias(MODEL, "champion", "1");
}

interface Running {
  readonly dir: string;
  readonly stores: Stores;
  readonly keel: KeelServer;
  readonly url: string;
  readonly out: string[];
  readonly err: string[];
  /** keel.close(), once however often it is called. */
  stopServer(): Promise<void>;
  /** stopServer(), then stores.close(), once. */
  close(): Promise<void>;
}

/** `keel server` as the CLI runs it: loaded config, migrated stores in a temp dir, a ctx collecting its lines. */
async function startKeel(dir: string, versions: number, options: ServeOptions): Promise<Running> {
  const config = loadConfig({ flags: { port: 0, dataDir: path.join(dir, "data"), logLevel: "silent" }, env: {} });
  const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  await stores.migrate();
  await registerModel(stores, versions);
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { env: {}, cwd: dir, out: (t) => out.push(t), err: (t) => err.push(t) };
  let keel: KeelServer;
  try {
    keel = await startKeelServer(stores, config, ctx, options);
  } catch (e) {
    await stores.close();
    throw e;
  }
  let stopping: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const stopServer = () => (stopping ??= keel.close());
  const close = () =>
    (closing ??= (async () => {
      try {
        await stopServer();
      } finally {
        await stores.close();
      }
    })());
  return { dir, stores, keel, url: keel.server.url, out, err, stopServer, close };
}

async function stopKeel(r: Running | undefined, dir: string): Promise<void> {
  try {
    await r?.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function request<T>(
  url: string,
  method = "GET",
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return (res.headers.get("content-type") ?? "").includes("json") ? (JSON.parse(text) as T) : (text as T);
}

/** The first sample of `name` in a Prometheus text exposition whose labels include these values, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-z_:][a-z0-9_:]*)\{([^}]*)\} (\S+)$/i.exec(line);
    if (m?.[1] !== name) continue;
    const got = new Map<string, string>();
    for (const x of (m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)) got.set(x[1] ?? "", x[2] ?? "");
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

interface EndpointJson {
  name: string;
  model: string;
  versions: Record<string, string>;
  canary?: { status: string; step?: number; reason?: string; at?: number };
}

interface PredictJson {
  predictions: { score: number; model_version: string; route: string }[];
}

describe("keel server: a fired alert rolls back the canary of its version", () => {
  let dir: string;
  let r: Running | undefined;
  /** The monitored window: an hour that ended an hour ago (the live predictions fall outside it). */
  let from: number;
  let to: number;
  const keys = Array.from({ length: 24 }, (_, i) => `applicant-${i}`);

  const endpoint = async () => {
    const { endpoints } = await request<{ endpoints: EndpointJson[] }>(`${r!.url}/api/keel/endpoints`);
    const ep = endpoints.find((e) => e.name === ENDPOINT);
    if (ep === undefined) throw new Error(`no endpoint ${ENDPOINT} in ${JSON.stringify(endpoints)}`);
    return ep;
  };
  const metrics = () => request<string>(`${r!.url}/metrics`);
  /** One prediction per key (the sticky-routing key), from the training population. */
  const predictAll = () =>
    Promise.all(
      keys.map(async (key, i) => {
        const body = await request<PredictJson>(
          `${r!.url}/api/keel/endpoints/${ENDPOINT}/predict`,
          "POST",
          [record(trained.training, i)],
          { "x-keel-entity-id": key },
        );
        const p = body.predictions[0]!;
        return { key, route: p.route, version: p.model_version };
      }),
    );
  const runWindow = (version: string) =>
    request<MonitorRunJson>(`${r!.url}/api/keel/monitoring/run`, "POST", { model: MODEL, from, to, version });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-serve-canary-"));
    writeFileSync(
      path.join(dir, "serving.json"),
      JSON.stringify({
        endpoints: [
          {
            name: ENDPOINT,
            model: MODEL,
            champion: { alias: "champion" },
            canary: { version: "2", steps: [50, 100], stepSeconds: 3600 },
          },
        ],
      }),
    );
    // relative to ctx.cwd, as `keel server --serving-config serving.json` is
    r = await startKeel(dir, 2, { servingConfig: "serving.json" });
    to = Date.now() - HOUR;
    from = to - HOUR;
    await r.stores.inferenceLog.append(
      [...driftedRecords("1", "champion", from), ...driftedRecords("2", "canary", from + 500)],
      { durability: "sync" },
    );
  });

  afterAll(() => stopKeel(r, dir));

  it("serves the canary: version 2 takes its keys at the first step (50 %)", async () => {
    const ep = await endpoint();
    expect(ep.versions).toMatchObject({ champion: "1", canary: "2" });
    expect(ep.canary).toMatchObject({ status: "running", step: 0 });
    expect(
      sample(await metrics(), "keel_serving_canary_traffic_percent", { endpoint: ENDPOINT, model_version: "2" }),
    ).toBe(50);

    const served = await predictAll();
    const canary = served.filter((s) => s.route === "canary");
    const champion = served.filter((s) => s.route === "champion");
    expect(canary.length).toBeGreaterThan(0);
    expect(champion.length).toBeGreaterThan(0);
    expect(canary.length + champion.length).toBe(keys.length);
    expect(new Set(canary.map((s) => s.version))).toEqual(new Set(["2"]));
    expect(new Set(champion.map((s) => s.version))).toEqual(new Set(["1"]));
    // sticky: the same keys take the same routes again
    expect(await predictAll()).toEqual(served);
  });

  it("leaves the canary running when the retrain alert names the champion's version", async () => {
    const run = await runWindow("1");
    expect(run.versions.map((v) => [v.version, v.rows])).toEqual([["1", 2000]]);
    const retrain = run.alerts_fired.filter((a) => a.tier === "retrain");
    expect(retrain.map((a) => [a.rule_id, a.model_version])).toEqual([["credit_score_psi_retrain", "1"]]);

    expect((await endpoint()).canary).toMatchObject({ status: "running", step: 0 });
    const text = await metrics();
    expect(sample(text, "keel_serving_canary_traffic_percent", { endpoint: ENDPOINT, model_version: "2" })).toBe(50);
    expect(
      sample(text, "keel_serving_canary_rollbacks_total", { endpoint: ENDPOINT, trigger: "alert" }),
    ).toBeUndefined();
  });

  it("rolls the canary back on the retrain alert for version 2: state, metrics, inference log, routing", async () => {
    const run = await runWindow("2");
    expect(run.versions.map((v) => [v.version, v.rows])).toEqual([["2", 2000]]);
    // the drift the default rule fires on: PSI of credit_score against version 2's reference profile
    const psi = run.observations.find((o) => o.kind === "drift" && o.metric === "psi" && o.feature === "credit_score");
    expect(psi?.model_version).toBe("2");
    expect(psi?.severity).toBe("major");
    const profile = await loadReferenceProfile(r!.stores, MODEL, "2");
    const direct = computeDrift(profile, trained.drifted, { method: "ks" }).columns.find(
      (c) => c.name === "credit_score",
    );
    expect(psi?.value).toBeCloseTo(direct!.psi!, 10);
    expect(psi?.value).toBeGreaterThan(0.25);

    const alert: AlertJson | undefined = run.alerts_fired.find((a) => a.rule_id === "credit_score_psi_retrain");
    expect(alert).toMatchObject({ tier: "retrain", model_name: MODEL, model_version: "2", status: "open" });
    const reason = `retrain alert credit_score_psi_retrain on model ${MODEL} v2: ${alert!.summary}`;

    const ep = await endpoint();
    expect(ep.canary).toMatchObject({ status: "rolled_back", reason });
    const rolledBackAt = ep.canary!.at!;
    expect(rolledBackAt).toBeGreaterThan(to);

    const text = await metrics();
    expect(sample(text, "keel_serving_canary_traffic_percent", { endpoint: ENDPOINT, model_version: "2" })).toBe(0);
    // once: the page-tier KS alert on version 2 that fires in the same evaluation finds no running canary
    expect(run.alerts_fired.some((a) => a.tier === "page" && a.model_version === "2")).toBe(true);
    expect(
      sample(text, "keel_serving_canary_rollbacks_total", { endpoint: ENDPOINT, model_version: "2", trigger: "alert" }),
    ).toBe(1);

    // the decision is in the inference log (written off the request path: wait for it)
    const logged = await vi.waitFor(
      async () => {
        const rows = await r!.stores.inferenceLog.query({ modelName: MODEL, route: "canary_rollback" });
        expect(rows).toHaveLength(1);
        return rows[0]!;
      },
      { timeout: 5000, interval: 50 },
    );
    expect(logged).toMatchObject({
      endpoint: ENDPOINT,
      modelName: MODEL,
      modelVersion: "2",
      time: rolledBackAt,
      features: {},
      outputs: { trigger: "alert", reason },
    });

    // the canary's keys are back on the champion
    const served = await predictAll();
    expect(served.map((s) => [s.route, s.version])).toEqual(keys.map(() => ["champion", "1"]));

    expect(r!.out).toContain(`alert fired: ${alert!.summary}`);
    expect(r!.err.join("\n")).toBe("");
  });
});

describe("keel server --retraining-policy: a retrain-tier alert checks the model's policy at once", () => {
  let dir: string;
  let r: Running | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-serve-retrain-"));
    await writeTable(generateLoanApplications({ rows: 1000, seed: 21, driftMonths: 0 }), path.join(dir, "loans.csv"));
    writeFileSync(
      path.join(dir, "pipeline.json"),
      JSON.stringify({
        name: "loans-retrain",
        data: "loans.csv",
        target: "default",
        idColumn: "applicant_id",
        split: { kind: "random", validFraction: 0.25, seed: 1, stratify: true },
        train: { model: "gbdt", params: { n_estimators: 10, max_depth: 3, learning_rate: 0.3 } },
        evaluate: { threshold: 0.1 },
        gates: [{ gate: "auc", min: 0.7 }],
        register: { model: MODEL },
      }),
    );
    // Yearly: the cron never runs during the test. The drift trigger needs 10 drifted features,
    // which monitoring's observations alone never give here: only a retrain alert can fire it.
    writeFileSync(
      path.join(dir, "policy.json"),
      JSON.stringify({
        model: MODEL,
        pipeline: "pipeline.json",
        schedule: "0 0 1 1 *",
        triggers: { drift: { severities: ["major"], minFeatures: 10, lookbackHours: 24 } },
      }),
    );
    r = await startKeel(dir, 1, { retrainingPolicy: "policy.json" });
  });

  afterAll(() => stopKeel(r, dir));

  it("runs the pipeline on the alert, not the cron: decision audited, challenger registered, champion kept", async () => {
    const running = r!;
    const next = running.out
      .map((l) => /^retraining policy: next check loan-default at (\S+)$/.exec(l)?.[1])
      .find((x) => x !== undefined);
    expect(next).toBeDefined();
    const nextCheck = Date.parse(next!);
    expect(nextCheck).toBeGreaterThan(Date.now());

    const decisions = async () =>
      (await running.stores.audit.list({ targetId: MODEL, limit: 10_000 })).filter(
        (a) => a.action === "retraining.decision",
      );
    expect(await decisions()).toEqual([]);
    expect(running.out.filter((l) => l.startsWith(`retraining ${MODEL}:`))).toEqual([]);

    const to = Date.now() - HOUR;
    const from = to - HOUR;
    await running.stores.inferenceLog.append(driftedRecords("1", "champion", from), { durability: "sync" });
    const run = await request<MonitorRunJson>(`${running.url}/api/keel/monitoring/run`, "POST", {
      model: MODEL,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
    });
    const retrain = run.alerts_fired.filter((a) => a.tier === "retrain");
    expect(retrain.map((a) => [a.rule_id, a.model_version])).toEqual([["credit_score_psi_retrain", "1"]]);
    const alert = retrain[0]!;

    const [decision] = await vi.waitFor(
      async () => {
        const d = await decisions();
        expect(d).toHaveLength(1);
        return d;
      },
      { timeout: 10_000, interval: 100 },
    );
    // checked before its cron time: the alert started it
    expect(decision!.time).toBeLessThan(nextCheck);
    expect(decision!.actor).toBe("retraining-policy");
    const after = decision!.after as {
      retrain: boolean;
      fired: string[];
      reasons: Record<string, string>;
      run_id: string;
      status: string;
      version?: string;
      alias?: string;
    };
    expect(after).toMatchObject({
      retrain: true,
      fired: ["drift"],
      status: "passed",
      version: "2",
      alias: "challenger",
    });
    // fired by the alert: the drifted features alone are short of the 10 the policy asks for
    expect(after.reasons.drift).toContain("at least 10 needed");
    expect(after.reasons.drift).toContain(`retrain alert: ${alert.summary}`);

    expect(running.out).toContain(`retraining ${MODEL}: due (drift); pipeline run ${after.run_id} passed`);

    const tags = Object.fromEntries(
      (await running.stores.tracking.getRun(after.run_id)).data.tags.map((t) => [t.key, t.value]),
    );
    expect(tags["keel.retrain.trigger"]).toBe("drift");
    expect(tags["keel.retrain.reason"]).toContain(`retrain alert: ${alert.summary}`);
    expect((await running.stores.registry.getVersionByAlias(MODEL, "challenger")).version).toBe("2");
    expect((await running.stores.registry.getVersionByAlias(MODEL, "champion")).version).toBe("1");

    // closing waits for checks in flight; still exactly one decision, and nothing went to stderr
    await running.stopServer();
    const final = await decisions();
    expect(final).toHaveLength(1);
    expect(running.err).toEqual([]);
  });
});
