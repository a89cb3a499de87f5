import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3Server, type TestS3Server } from "../store/s3-server.js";
import { TEST_PG_URL } from "../services.js";
import { freshPostgresUri } from "./helpers.js";
import { call, infer, pollUntil, startReplicas, stopReplica, xgb, type Replica } from "./replica-harness.js";

const model = new Uint8Array(readFileSync(xgb.file));
const DESTINATION = "s3://keel-artifacts/prod";

let s3: TestS3Server;
let dir: string;
let uri: string;
/** a: every role; b: a scoring replica (`--roles serving,scheduler`). */
let a: Replica;
let b: Replica;

beforeAll(async () => {
  s3 = await startS3Server();
  dir = mkdtempSync(path.join(tmpdir(), "keel-replicas-"));
  uri = freshPostgresUri("replicas");
  const env = {
    KEEL_DATA_DIR: dir,
    KEEL_BACKEND_STORE_URI: uri,
    AWS_ENDPOINT_URL: s3.connection.endpoint as string,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: s3.connection.accessKeyId as string,
    AWS_SECRET_ACCESS_KEY: s3.connection.secretAccessKey as string,
    AWS_S3_FORCE_PATH_STYLE: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  a = (await startReplicas(1, ["--artifacts-destination", DESTINATION], env))[0]!;
  // started after a has migrated the schema; the migration lock would also serialise them
  b = (await startReplicas(1, ["--artifacts-destination", DESTINATION, "--roles", "serving,scheduler"], env))[0]!;
}, 120_000);

afterAll(async () => {
  await Promise.all([a, b].filter((r) => r !== undefined).map(stopReplica));
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  await client.query(`drop schema if exists ${new URL(uri).searchParams.get("schema")} cascade`);
  await client.end();
});

describe("two keel server replicas on PostgreSQL with artifacts in S3", () => {
  let runId: string;

  it("serves on one replica a version registered and made champion through the other", async () => {
    const exp = await call<{ experiment_id: string }>(a.url, "POST", "/api/2.0/mlflow/experiments/create", {
      name: "credit",
    });
    const run = await call<{ run: { info: { run_id: string } } }>(a.url, "POST", "/api/2.0/mlflow/runs/create", {
      experiment_id: exp.json.experiment_id,
    });
    runId = run.json.run.info.run_id;
    const put = await fetch(
      `${a.url}/api/2.0/mlflow-artifacts/artifacts/${exp.json.experiment_id}/${runId}/artifacts/model/model.json`,
      { method: "PUT", body: model },
    );
    expect(put.status).toBe(200);
    expect((await call(a.url, "POST", "/api/2.0/mlflow/registered-models/create", { name: "credit" })).status).toBe(
      200,
    );
    const mv = await call(a.url, "POST", "/api/2.0/mlflow/model-versions/create", {
      name: "credit",
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(mv.status).toBe(200);
    await call(a.url, "POST", "/api/2.0/mlflow/registered-models/alias", {
      name: "credit",
      alias: "champion",
      version: "1",
    });
    // the first load fetches the model from S3: a generous bound
    const loaded = await pollUntil(async () => (await fetch(`${b.url}/v2/models/credit/ready`)).status === 200, 30_000);
    expect(loaded.ok).toBe(true);
    for (const i of [0, 7, 99]) {
      const scored = await infer(b.url, "credit", i);
      expect(scored.version).toBe("1");
      expect(scored.score).toBeCloseTo(xgb.expected[i] as number, 6);
    }
  });

  it("follows an alias moved on the other replica within a second", async () => {
    const v2 = await call<{ model_version: { version: string } }>(
      a.url,
      "POST",
      "/api/2.0/mlflow/model-versions/create",
      {
        name: "credit",
        source: `runs:/${runId}/model`,
        run_id: runId,
      },
    );
    expect(v2.json.model_version.version).toBe("2");
    // both replicas load version 2 before it is champion (as a challenger's endpoint would), so the
    // wait below measures the alias move's propagation, not a model load on a loaded machine
    const endpoint = { model: "credit", champion: { model: "credit", version: "2" } };
    expect((await call(a.url, "PUT", "/api/keel/endpoints/warm", endpoint)).status).toBe(200);
    const warmed = await pollUntil(async () => (await infer(b.url, "warm", 0)).version === "2", 30_000);
    expect(warmed.ok).toBe(true);

    await call(a.url, "POST", "/api/2.0/mlflow/registered-models/alias", {
      name: "credit",
      alias: "champion",
      version: "2",
    });
    const followed = await pollUntil(async () => (await infer(b.url, "credit", 3)).version === "2", 1000);
    expect(followed.ok, `replica b still served version 1 after ${followed.elapsedMs.toFixed(0)} ms`).toBe(true);
    const scored = await infer(b.url, "credit", 3);
    expect(scored.score).toBeCloseTo(xgb.expected[3] as number, 6);
  });

  it("a scoring replica without the api role answers health and inference, not the MLflow or admin API", async () => {
    expect((await fetch(`${b.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
    const create = await call(b.url, "POST", "/api/2.0/mlflow/experiments/create", { name: "nope" });
    expect(create.status).toBe(404);
    const endpoint = await call(b.url, "PUT", "/api/keel/endpoints/other", { model: "credit" });
    expect(endpoint.status).toBe(404);
    expect((await call(b.url, "GET", "/api/keel/endpoints")).status).toBe(200);
    // the same calls on the api replica work
    expect((await call(a.url, "POST", "/api/2.0/mlflow/experiments/create", { name: "yes" })).status).toBe(200);
  });
});
