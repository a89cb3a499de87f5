import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeArtifactFetcher } from "../../src/server/model-source.js";
import { artifactModelLoader } from "../../src/serving/index.js";
import { parseEndpointConfig } from "../../src/serving/endpoint-config.js";
import { fixture, get, openStack, post, serve, type Served, type Stack } from "./harness.js";

/** MLflow model folders written by test/fixtures/mlflow/make_mlflow_models.py, with XGBoost's own scores. */
const DIR = new URL("../fixtures/mlflow/", import.meta.url);
const expected = JSON.parse(readFileSync(new URL("expected.json", DIR), "utf8")) as {
  columns: Record<string, (number | null)[]>;
  xgb_ubj: number[];
  xgb_legacy: number[];
};
const NAMES = Object.keys(expected.columns);
const ROWS = expected.xgb_legacy.length;

let stack: Stack;
let served: Served;

/** Copies a fixture folder into the artifact store under `base`. */
async function upload(folder: string, base: string): Promise<void> {
  for (const f of readdirSync(new URL(`${folder}/`, DIR))) {
    await stack.stores.artifacts.putFile(`${base}/${f}`, new Uint8Array(readFileSync(new URL(`${folder}/${f}`, DIR))));
  }
}

/** Registers a version over MLflow's REST API, as an MLflow client does, and makes it champion. */
async function register(name: string, source: string, checksum?: string): Promise<string> {
  await post(`${served.url}/api/2.0/mlflow/registered-models/create`, { name });
  const created = await post(`${served.url}/api/2.0/mlflow/model-versions/create`, {
    name,
    source,
    ...(checksum === undefined ? {} : { checksum }),
  });
  expect(created.status).toBe(200);
  const version = (created.body as { model_version: { version: string } }).model_version.version;
  await stack.registry.setAlias(name, "champion", version);
  return version;
}

function inferBody(rows: number): unknown {
  return {
    inputs: NAMES.map((name) => ({
      name,
      shape: [rows],
      datatype: "FP64",
      data: (expected.columns[name] ?? []).slice(0, rows),
    })),
  };
}

beforeAll(async () => {
  stack = await openStack();
  served = await serve(stack, {
    loadModel: artifactModelLoader(storeArtifactFetcher(stack.stores)),
    endpoints: [parseEndpointConfig({ name: "checked", model: "legacy", required: true })],
  });
  const { tracking } = stack.stores;
  const exp = await tracking.createExperiment("mlflow-folders");
  const run = await tracking.createRun({ experimentId: exp });
  await upload("xgb_legacy", `${run.info.artifactUri.replace(/^mlflow-artifacts:\/*/, "")}/model`);
  const logged = await tracking.createLoggedModel({ experimentId: exp, name: "ubj" });
  await upload("xgb_ubj", logged.artifactUri.replace(/^mlflow-artifacts:\/*/, ""));
  await upload("sklearn_pickle", "outside/sk/model");
  await upload("lgb_text", "outside/lgb/model");
  await upload("onnx_logreg", "outside/onnx/model");

  await register("legacy", `runs:/${run.info.runId}/model`);
  await register("ubj", `models:/${logged.modelId}`);
  await register("pickled", "mlflow-artifacts:/outside/sk/model");
  await register("tampered", "mlflow-artifacts:/outside/lgb/model", "0".repeat(64));
  await register("lgb", "mlflow-artifacts:/outside/lgb/model");
  await register("onnx", "mlflow-artifacts:/outside/onnx/model");
  // A poll may be in flight (it is joined, not restarted): the second sync starts after the last registration.
  await served.serving.sync();
  await served.serving.sync();
});
afterAll(async () => {
  await served?.close();
  await stack?.close();
});

describe("MLflow model folders registered over MLflow's REST API and served", () => {
  it("takes the version's signature from MLmodel and tags unservable flavors", async () => {
    const legacy = await stack.registry.getModelVersion("legacy", "1");
    expect(legacy.signature?.inputs.map((c) => c.name)).toEqual(NAMES);
    expect(legacy.tags).toContainEqual({ key: "keel.mlflow_flavor", value: "xgboost" });
    const ubj = await stack.registry.getModelVersion("ubj", "1");
    expect(ubj.tags).toContainEqual({ key: "keel.mlflow_model_id", value: "m-5e0c2a7b9d1f4e3a8b6c0d2e4f6a8b0c" });
    const pickled = await stack.registry.getModelVersion("pickled", "1");
    expect(pickled.tags).toContainEqual({ key: "keel.servable", value: "false" });
    expect(pickled.tags.find((t) => t.key === "keel.not_servable_reason")?.value).toMatch(/flavor sklearn/);
  });

  it("refuses a folder whose MLmodel is malformed, naming the field; an unresolvable source registers as in MLflow", async () => {
    await stack.stores.artifacts.putFile(
      "outside/bad/model/MLmodel",
      new TextEncoder().encode(
        'flavors:\n  xgboost:\n    data: model.json\nsignature:\n  inputs: \'[{"type": "datetime", "name": "t"}]\'\n',
      ),
    );
    await post(`${served.url}/api/2.0/mlflow/registered-models/create`, { name: "bad" });
    const bad = await post(`${served.url}/api/2.0/mlflow/model-versions/create`, {
      name: "bad",
      source: "mlflow-artifacts:/outside/bad/model",
    });
    expect(bad.status).toBe(400);
    expect((bad.body as { message: string }).message).toMatch(/MLmodel: signature\.inputs\[0\]\.type = "?datetime"?/);
    await stack.stores.artifacts.putFile(
      "outside/escape/model/MLmodel",
      new TextEncoder().encode(
        "flavors:\n  xgboost:\n    data: model.json\nsaved_input_example_info:\n  artifact_path: ../../../secret.json\n",
      ),
    );
    const escape = await post(`${served.url}/api/2.0/mlflow/model-versions/create`, {
      name: "bad",
      source: "mlflow-artifacts:/outside/escape/model",
    });
    expect(escape.status).toBe(400);
    expect((escape.body as { message: string }).message).toMatch(
      /"\.\.\/\.\.\/\.\.\/secret\.json" must be a path inside the model folder/,
    );
    const later = await post(`${served.url}/api/2.0/mlflow/model-versions/create`, {
      name: "bad",
      source: "runs:/0123456789abcdef/model",
    });
    expect(later.status).toBe(200);
  });

  it.each([
    ["legacy", "xgb_legacy"],
    ["ubj", "xgb_ubj"],
  ] as const)("%s scores as XGBoost's Booster.predict (1e-6)", async (name, key) => {
    const r = await post(`${served.url}/v2/models/${name}/infer`, inferBody(ROWS));
    expect(r.status).toBe(200);
    const data = (r.body as { outputs: { data: number[] }[] }).outputs[0]?.data ?? [];
    expect(data.length).toBe(ROWS);
    expected[key].forEach((e, i) => expect(Math.abs((data[i] ?? NaN) - e)).toBeLessThan(1e-6));
  });

  it.each([
    ["lgb", "lgb_binary.txt"],
    ["onnx", "onnx_logreg.onnx"],
  ])("serves the %s flavor's model file as its runtime scores it", async (name, model) => {
    const fx = fixture(model);
    const rows = [0, 1, 2, 3, 4, 5];
    const r = await post(`${served.url}/v2/models/${name}/infer`, {
      inputs: Object.entries(fx.columns).map(([col, values]) => ({
        name: col,
        shape: [rows.length],
        datatype: typeof values.find((v) => v !== null) === "string" ? "BYTES" : "FP64",
        data: rows.map((i) => values[i] ?? null),
      })),
    });
    expect(r.status).toBe(200);
    const data = (r.body as { outputs: { data: number[] }[] }).outputs[0]?.data ?? [];
    rows.forEach((row, k) => expect(Math.abs((data[k] ?? NaN) - (fx.expected[row] ?? NaN))).toBeLessThan(1e-6));
  });

  it("reports each unloadable model with its real load error while the server stays ready", async () => {
    const health = await get(`${served.url}/v2/health/ready`);
    expect(health.status).toBe(200);
    const models = (health.body as { models: { name: string; ready: boolean; reason?: string }[] }).models;
    const byName = new Map(models.map((m) => [m.name, m]));
    expect(byName.get("legacy")).toMatchObject({ ready: true });
    expect(byName.get("checked")).toMatchObject({ ready: true, required: true });
    expect(byName.get("pickled")?.ready).toBe(false);
    expect(byName.get("pickled")?.reason).toMatch(/not servable: flavor sklearn cannot be served by keel.*ONNX/);
    expect(byName.get("tampered")?.reason).toMatch(/does not match the registered checksum 0{64}/);

    const one = await get(`${served.url}/v2/models/pickled/ready`);
    expect(one.status).toBe(503);
    expect(one.body).toMatchObject({ name: "pickled", ready: false, required: false });
    expect((one.body as { reason: string; retry_at: string }).retry_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const infer = await post(`${served.url}/v2/models/pickled/infer`, inferBody(1));
    expect(infer.status).toBe(503);
    expect((infer.body as { error: string }).error).toMatch(/failed to load \(.*flavor sklearn/);
    expect((await get(`${served.url}/v2/models/legacy/ready`)).status).toBe(200);
    const version = await get(`${served.url}/v2/models/pickled/versions/1/ready`);
    expect(version.status).toBe(503);
    expect(version.body).toMatchObject({ name: "pickled", ready: false });
    expect((version.body as { reason: string }).reason).toMatch(/flavor sklearn/);
    expect((await get(`${served.url}/v2/models/legacy/versions/1/ready`)).body).toEqual({
      name: "legacy",
      ready: true,
    });
    expect((await get(`${served.url}/v2/models/legacy/versions/9/ready`)).status).toBe(404);
  });

  it("counts failed loads per endpoint on /metrics", async () => {
    const metrics = await get(`${served.url}/metrics`);
    expect(metrics.text).toMatch(/keel_serving_model_load_failures_total\{endpoint="pickled"\} [1-9]/);
    expect(metrics.text).not.toMatch(/keel_serving_model_load_failures_total\{endpoint="legacy"\}/);
  });

  it("retries a failed load with backoff instead of on every poll", async () => {
    const before = served.serving.listEndpoints().find((e) => e.name === "pickled")?.loadError;
    await served.serving.sync();
    await served.serving.sync();
    const after = served.serving.listEndpoints().find((e) => e.name === "pickled")?.loadError;
    expect(after?.attempts).toBe(before?.attempts);
    expect(Date.parse(after?.retryAt ?? "")).toBeGreaterThan(Date.now() - 1000);
  });

  it("is not ready while a required endpoint's model fails to load", async () => {
    await served.serving
      .putEndpoint(parseEndpointConfig({ name: "needed", model: "pickled", required: true }))
      .catch(() => undefined);
    const health = await get(`${served.url}/v2/health/ready`);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ ready: false });
    expect((await get(`${served.url}/ping`)).status).toBe(503);
  });
});
