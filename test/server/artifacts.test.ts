import { readdirSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, startTestServer } from "./helpers.js";
import type { TestServer } from "./helpers.js";
import { rejected } from "../keel-error.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const refusal = (p: Promise<unknown>) => rejected(p);

function rawGet(urlPath: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: urlPath, method: "GET" }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on("error", reject);
    req.end();
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("mlflow-artifacts proxy", () => {
  it("uploads, lists and downloads a run's artifacts as MLflow's client does", async () => {
    const id = await server.client.createExperiment("artifacts");
    const run = await server.client.createRun({ experiment_id: id });
    expect(run.info.artifact_uri).toBe(`mlflow-artifacts:/${id}/${run.info.run_id}/artifacts`);
    const root = `${id}/${run.info.run_id}/artifacts`;
    const model = new TextEncoder().encode('{"trees": []}');
    const weights = new Uint8Array(300_000).map((_, i) => (i * 31) % 256);

    // MLflow's HttpArtifactRepository PUTs the file body with no content type.
    const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/model/model.json`, {
      method: "PUT",
      body: model,
    });
    expect(put.status).toBe(200);
    await server.client.uploadArtifact(`${root}/model/weights 100%.bin`, weights);
    await server.client.uploadArtifact(`${root}/metrics.txt`, new TextEncoder().encode("auc=0.8"));

    expect(await server.client.listArtifacts(root)).toEqual([
      { path: "model", is_dir: true },
      { path: "metrics.txt", is_dir: false, file_size: 7 },
    ]);
    expect(await server.client.listArtifacts(`${root}/model`)).toEqual([
      { path: "model.json", is_dir: false, file_size: model.length },
      { path: "weights 100%.bin", is_dir: false, file_size: weights.length },
    ]);
    expect(await server.client.downloadArtifact(`${root}/model/weights 100%.bin`)).toEqual(weights);

    // The tracking API's artifacts/list answers relative to the run's artifact root.
    const listed = await http(
      `${server.url}/api/2.0/mlflow/artifacts/list?run_id=${run.info.run_id}&path=model`,
      "GET",
    );
    expect(listed.json).toEqual({
      root_uri: run.info.artifact_uri,
      files: [
        { path: "model/model.json", is_dir: false, file_size: model.length },
        { path: "model/weights 100%.bin", is_dir: false, file_size: weights.length },
      ],
    });
  });

  it("refuses path traversal and unknown files with clear errors", async () => {
    // Sent raw: fetch would resolve the dots before they reach the server.
    const traversal = await rawGet("/api/2.0/mlflow-artifacts/artifacts/1/../../etc/passwd");
    expect(traversal.status).toBe(400);
    expect(traversal.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(String(traversal.json.message)).toContain("path traversal");
    const encoded = await rawGet("/api/2.0/mlflow-artifacts/artifacts/1/%2e%2e/%2e%2e/etc/passwd");
    expect(encoded.status).toBe(400);
    const missing = await refusal(server.client.downloadArtifact("1/none/artifacts/nothing.bin"));
    expect(missing.code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("refuses a tampered artifact with DATA_LOSS instead of serving it", async () => {
    const bytes = new TextEncoder().encode("the real model bytes, unique to this test");
    await server.client.uploadArtifact("tamper/model.bin", bytes);
    const blobs = filesUnder(path.join(server.dataDir, "artifacts", "blobs"));
    for (const blob of blobs) {
      if (statSync(blob).size === bytes.length) writeFileSync(blob, new TextEncoder().encode("X".repeat(bytes.length)));
    }
    const res = await http(`${server.url}/api/2.0/mlflow-artifacts/artifacts/tamper/model.bin`, "GET");
    expect(res.status).toBe(500);
    expect(res.json.error_code).toBe("DATA_LOSS");
    expect(String(res.json.message)).toContain("checksum mismatch");
  });
});
