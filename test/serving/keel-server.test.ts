import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import { afterAll, describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import { OIP_GRPC_DESCRIPTOR } from "../../src/server/oip-grpc-descriptor.js";
import { SqlInferenceLog } from "../../src/store/inference-log-sql.js";
import { keelServer } from "../cli/helpers.js";
import { fixture } from "./fixtures.js";

const dir = mkdtempSync(path.join(tmpdir(), "keel-server-serving-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keel server serves registered champions", () => {
  it("loads the champion from the artifact store, scores over OIP V2 and logs the request durably", async () => {
    const xgb = fixture("xgb_binary.json");
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    await stores.migrate();
    const bytes = new Uint8Array(readFileSync(xgb.file));
    await stores.artifacts.putFile("models/credit/model.json", bytes);
    const blob = await stores.artifacts.statFile("models/credit/model.json");
    const mv = await stores.registry.createModelVersion({
      name: "credit",
      source: "mlflow-artifacts:/models/credit/model.json",
      checksum: blob.sha256,
    });
    await stores.registry.setAlias("credit", "champion", mv.version);
    await stores.close();
    const servingFile = path.join(dir, "serving.json");
    writeFileSync(
      servingFile,
      JSON.stringify({ endpoints: [{ name: "credit", model: "credit", inferenceLog: { audit: "sync" } }] }),
    );

    const server = await keelServer(["--port", "0", "--grpc-port", "0", "--serving-config", servingFile], {
      KEEL_DATA_DIR: dir,
    });
    try {
      const ready = await fetch(`${server.url}/v2/health/ready`);
      expect(await ready.json()).toMatchObject({
        ready: true,
        models: [{ name: "credit", ready: true, required: false }],
      });
      const res = await fetch(`${server.url}/v2/models/credit/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          id: "e2e-1",
          inputs: Object.entries(xgb.columns).map(([name, v]) => ({
            name,
            shape: [1],
            datatype: "FP32",
            data: [v[7] ?? null],
          })),
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { id: string; model_version: string; outputs: { data: number[] }[] };
      expect(body.id).toBe("e2e-1");
      expect(body.outputs[0]?.data[0]).toBeCloseTo(xgb.expected[7] as number, 6);

      // audit "sync": the record is committed before the answer, readable from another connection
      const reader = openStores({
        backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
        artifactRoot: path.join(dir, "artifacts"),
      });
      const records = await new SqlInferenceLog(reader.metadata).query({ requestIds: ["e2e-1"] });
      await reader.close();
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        endpoint: "credit",
        modelName: "credit",
        modelVersion: mv.version,
        route: "champion",
      });
      expect(records[0]?.outputs.score).toBeCloseTo(xgb.expected[7] as number, 6);

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain(
        'keel_serving_requests_total{endpoint="credit",model_version="1",route="champion",protocol="oip"} 1',
      );

      // The same model server over the OIP gRPC service, on the port `--grpc-port 0` picked.
      await expect.poll(() => /gRPC inference listening on (\S+)/.exec(server.output())?.[1]).toBeDefined();
      const address = /gRPC inference listening on (\S+)/.exec(server.output())?.[1] ?? "";
      const pkg = grpc.loadPackageDefinition(
        fromJSON(OIP_GRPC_DESCRIPTOR, {
          keepCase: true,
          longs: Number,
          oneofs: true,
        }),
      ) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
      const client = new pkg.inference.GRPCInferenceService(address, grpc.credentials.createInsecure());
      try {
        const res = await new Promise<{ outputs: { contents: { fp64_contents: number[] } }[] }>((resolve, reject) =>
          (
            client as unknown as Record<string, (r: unknown, cb: (e: Error | null, r: never) => void) => void>
          ).ModelInfer!.call(
            client,
            {
              model_name: "credit",
              inputs: Object.entries(xgb.columns).map(([name, v]) => ({
                name,
                shape: [1],
                datatype: "FP64",
                contents: { fp64_contents: [v[7] ?? NaN] },
              })),
            },
            (e, r) => (e === null ? resolve(r) : reject(e)),
          ),
        );
        expect(res.outputs[0]?.contents.fp64_contents[0]).toBeCloseTo(xgb.expected[7] as number, 6);
      } finally {
        client.close();
      }
    } finally {
      server.child.kill("SIGTERM");
      await new Promise((r) => server.child.once("exit", r));
    }
  });
});
