import { createHash } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keelInProcess, keelServer } from "../cli/helpers.js";
import { fixture } from "../serving/fixtures.js";
import { startS3Server, type TestS3Server } from "../store/s3-server.js";
import { until } from "../until.js";

const xgb = fixture("xgb_binary.json");
const model = new Uint8Array(readFileSync(xgb.file));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const DESTINATION = "s3://keel-artifacts/prod";
/** The MLmodel file MLflow writes for an XGBoost model saved as JSON. */
const MLMODEL = "flavors:\n  xgboost:\n    data: model.json\n    model_format: json\n";

let s3: TestS3Server;
let dir: string;
let server: { child: ChildProcess; url: string; output: () => string };
let env: Record<string, string>;

/** The environment an operator sets for an S3-compatible server without virtual hosts. */
function awsEnv(connection: TestS3Server["connection"]): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: connection.endpoint as string,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: connection.accessKeyId as string,
    AWS_SECRET_ACCESS_KEY: connection.secretAccessKey as string,
    AWS_S3_FORCE_PATH_STYLE: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}

beforeAll(async () => {
  s3 = await startS3Server();
  dir = mkdtempSync(path.join(tmpdir(), "keel-s3-server-"));
  env = { KEEL_DATA_DIR: dir, ...awsEnv(s3.connection) };
  server = await keelServer(["--port", "0", "--artifacts-destination", DESTINATION], env);
});
afterAll(async () => {
  server?.child.kill("SIGTERM");
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function api<T = { message?: string }>(
  method: string,
  endpoint: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${server.url}/api/2.0/${endpoint}`, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text === "" ? {} : JSON.parse(text)) as T };
}

/** OIP V2 inference on row `i` of the fixture. */
interface Inference {
  readonly model_version: string;
  readonly outputs: { readonly data: number[] }[];
}

async function infer(i: number): Promise<{ status: number; json: Inference }> {
  const res = await fetch(`${server.url}/v2/models/credit/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      inputs: Object.entries(xgb.columns).map(([name, v]) => ({
        name,
        shape: [1],
        datatype: "FP32",
        data: [v[i] ?? null],
      })),
    }),
  });
  return { status: res.status, json: (await res.json()) as Inference };
}

describe("keel server with its artifacts in S3", () => {
  let runId: string;
  let root: string;

  it("takes an MLflow client's artifact uploads into the bucket and serves them back", async () => {
    const exp = await api<{ experiment_id: string }>("POST", "mlflow/experiments/create", { name: "credit" });
    const run = await api<{ run: { info: { run_id: string } } }>("POST", "mlflow/runs/create", {
      experiment_id: exp.json.experiment_id,
    });
    runId = run.json.run.info.run_id;
    root = `${exp.json.experiment_id}/${runId}/artifacts`;
    // MLflow's HttpArtifactRepository: one PUT per file, no content type.
    for (const [file, bytes] of [
      ["model/model.json", model],
      ["model/MLmodel", new TextEncoder().encode(MLMODEL)],
    ] as const) {
      const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${file}`, {
        method: "PUT",
        body: bytes,
      });
      expect(put.status).toBe(200);
    }
    const listed = await api<{ files: unknown[] }>("GET", `mlflow/artifacts/list?run_id=${runId}&path=model`);
    expect(listed.json.files).toEqual([
      { path: "model/MLmodel", is_dir: false, file_size: MLMODEL.length },
      { path: "model/model.json", is_dir: false, file_size: model.length },
    ]);
    const back = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/model/model.json`);
    expect(back.status).toBe(200);
    expect(sha(new Uint8Array(await back.arrayBuffer()))).toBe(sha(model));
    // The bytes are in the bucket under the destination's prefix, named by their sha256.
    expect(await s3.keys("prod/")).toContain(
      `prod/blobs/${sha(model).slice(0, 2)}/${sha(model).slice(2, 4)}/${sha(model)}`,
    );
  });

  it("streams a download above 16 MiB and cuts off a corrupted one before its end", async () => {
    const big = new Uint8Array(20 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24);
    const url = `${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/big/weights.bin`;
    expect((await fetch(url, { method: "PUT", body: big })).status).toBe(200);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(big.length));
    expect(sha(new Uint8Array(await res.arrayBuffer()))).toBe(sha(big));
    // Alter the object in the bucket behind keel's back: the transfer must not complete.
    await s3.overwrite(
      `prod/blobs/${sha(big).slice(0, 2)}/${sha(big).slice(2, 4)}/${sha(big)}`,
      big.map((b, i) => (i === 7 ? b ^ 1 : b)),
    );
    const corrupted = await fetch(url);
    expect(corrupted.status).toBe(200);
    const read = await corrupted.arrayBuffer().then(
      (b) => b.byteLength,
      (e: unknown) => e,
    );
    expect(read).toBeInstanceOf(Error);
  });

  it("registers a version whose model is in S3 and serves it over OIP V2", async () => {
    expect((await api("POST", "mlflow/registered-models/create", { name: "credit" })).status).toBe(200);
    const mv = await api("POST", "mlflow/model-versions/create", {
      name: "credit",
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(mv.status).toBe(200);
    await api("POST", "mlflow/registered-models/alias", { name: "credit", alias: "champion", version: "1" });
    await until(
      "the champion to load",
      async () => (await fetch(`${server.url}/v2/models/credit/ready`)).status === 200,
    );
    const scored = await infer(7);
    expect(scored.status).toBe(200);
    expect(scored.json.model_version).toBe("1");
    expect(scored.json.outputs[0]?.data[0]).toBeCloseTo(xgb.expected[7] as number, 6);
  });

  it("with S3 down: artifact writes and reads fail with 503 naming the store, the loaded model keeps serving", async () => {
    await s3.stop();
    try {
      const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/model-2/model.json`, {
        method: "PUT",
        body: new TextEncoder().encode("a retrained model"),
      });
      expect(put.status).toBe(503);
      const body = (await put.json()) as { error_code: string; message: string };
      expect(body.error_code).toBe("TEMPORARILY_UNAVAILABLE");
      expect(body.message).toContain(`artifact store ${DESTINATION} is unavailable`);
      const get = await api("GET", `mlflow-artifacts/artifacts/${root}/model/model.json`);
      expect(get.status).toBe(503);
      expect(get.json.message).toContain(DESTINATION);

      // A registry write that stores a model (the CLI's `models register`) fails the same way.
      const cli = await keelInProcess(
        ["models", "register", xgb.file, "--name", "credit", "--artifacts-destination", DESTINATION],
        {
          env,
        },
      );
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain(`artifact store ${DESTINATION} is unavailable`);

      // A new champion whose bytes cannot be fetched now is not bound; version 1 keeps answering.
      const v2 = await api<{ model_version: { version: string } }>("POST", "mlflow/model-versions/create", {
        name: "credit",
        source: `runs:/${runId}/model`,
        checksum: sha(model),
      });
      // "2": the failed `models register` above created no version.
      expect(v2.json.model_version.version).toBe("2");
      await api("POST", "mlflow/registered-models/alias", { name: "credit", alias: "champion", version: "2" });
      await until("a failed attempt to bind version 2", () =>
        server.output().includes("endpoint credit could not be bound"),
      );
      for (const i of [3, 11, 42]) {
        const scored = await infer(i);
        expect(scored.status).toBe(200);
        expect(scored.json.model_version).toBe("1");
        expect(scored.json.outputs[0]?.data[0]).toBeCloseTo(xgb.expected[i] as number, 6);
      }
    } finally {
      await s3.start();
    }
    const again = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/model/model.json`);
    expect(again.status).toBe(200);
    // Back up: the next registry poll binds the new champion.
    await until("version 2 to serve", async () => (await infer(0)).json.model_version === "2");
  });
});
