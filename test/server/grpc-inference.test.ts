import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGrpcInference, type RunningGrpc } from "../../src/server/grpc-inference.js";
import { OIP_GRPC_DESCRIPTOR } from "../../src/server/oip-grpc-descriptor.js";
import { fixture, get, openStack, post, serve, type Served, type Stack } from "../serving/harness.js";

/** XGBoost's own scores for the fixture's rows (test/fixtures/models/make_fixtures.py). */
const xgb = fixture("xgb_binary.json");
const NAMES = Object.keys(xgb.columns);
const ROWS = [0, 1, 2, 3, 7];

type Callback = (err: grpc.ServiceError | null, res: Record<string, unknown>) => void;
type Client = grpc.Client & Record<string, (req: unknown, cb: Callback) => void>;

let stack: Stack;
let served: Served;
let grpcServer: RunningGrpc;
let client: Client;

function call(method: string, req: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as (req: unknown, cb: Callback) => void;
    fn.call(client, req, (err, res) => (err === null ? resolve(res) : reject(err)));
  });
}

async function failure(method: string, req: unknown): Promise<grpc.ServiceError> {
  return call(method, req).then(
    () => {
      throw new Error(`${method} succeeded`);
    },
    (e: grpc.ServiceError) => e,
  );
}

beforeAll(async () => {
  stack = await openStack();
  const v = await stack.register("credit", "xgb_binary.json");
  await stack.registry.setAlias("credit", "champion", v);
  served = await serve(stack);
  grpcServer = await startGrpcInference({ serving: served.serving, host: "127.0.0.1", port: 0, version: "test" });
  const pkg = grpc.loadPackageDefinition(
    fromJSON(OIP_GRPC_DESCRIPTOR, { keepCase: true, longs: Number, oneofs: true }),
  ) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  client = new pkg.inference.GRPCInferenceService(grpcServer.address, grpc.credentials.createInsecure()) as Client;
});
afterAll(async () => {
  client?.close();
  await grpcServer?.close();
  await served?.close();
  await stack?.close();
});

function column(name: string): number[] {
  // Typed FP64 contents have no null: NaN stands for a missing value.
  return ROWS.map((i) => xgb.columns[name]?.[i] ?? NaN);
}

describe("OIP gRPC GRPCInferenceService", () => {
  it("answers health, server and model metadata as the REST routes do", async () => {
    expect(await call("ServerLive", {})).toEqual({ live: true });
    expect(await call("ServerReady", {})).toEqual({ ready: true });
    expect(await call("ModelReady", { name: "credit" })).toEqual({ ready: true });
    expect(await call("ServerMetadata", {})).toMatchObject({ name: "keel", version: "test" });
    const meta = await call("ModelMetadata", { name: "credit" });
    const rest = (await get(`${served.url}/v2/models/credit`)).body as Record<string, unknown>;
    expect(meta).toMatchObject({ name: rest.name, versions: rest.versions, platform: rest.platform });
    expect(meta.inputs).toEqual(rest.inputs);
  });

  it("scores typed contents exactly as REST infer does, and as XGBoost (1e-6)", async () => {
    const res = await call("ModelInfer", {
      model_name: "credit",
      id: "g-1",
      inputs: NAMES.map((name) => ({
        name,
        datatype: "FP64",
        shape: [ROWS.length],
        contents: { fp64_contents: column(name) },
      })),
    });
    expect(res).toMatchObject({ model_name: "credit", model_version: "1", id: "g-1" });
    const outputs = res.outputs as {
      name: string;
      datatype: string;
      shape: number[];
      contents: { fp64_contents: number[] };
    }[];
    expect(outputs[0]).toMatchObject({ name: "score", datatype: "FP64", shape: [ROWS.length] });
    const grpcScores = outputs[0]?.contents.fp64_contents ?? [];
    const rest = await post(`${served.url}/v2/models/credit/infer`, {
      inputs: NAMES.map((name) => ({
        name,
        datatype: "FP64",
        shape: [ROWS.length],
        data: ROWS.map((i) => xgb.columns[name]?.[i] ?? null),
      })),
    });
    expect(grpcScores).toEqual((rest.body as { outputs: { data: number[] }[] }).outputs[0]?.data);
    ROWS.forEach((row, k) => expect(Math.abs((grpcScores[k] ?? NaN) - (xgb.expected[row] ?? NaN))).toBeLessThan(1e-6));
  });

  it("scores raw_input_contents (one [N, F] FP32 tensor, little-endian) and answers raw_output_contents", async () => {
    const width = NAMES.length;
    const bytes = Buffer.alloc(ROWS.length * width * 4);
    ROWS.forEach((row, k) =>
      NAMES.forEach((n, j) => bytes.writeFloatLE(xgb.columns[n]?.[row] ?? NaN, (k * width + j) * 4)),
    );
    const res = await call("ModelInfer", {
      model_name: "credit",
      inputs: [{ name: "input0", datatype: "FP32", shape: [ROWS.length, width] }],
      raw_input_contents: [bytes],
    });
    const raw = (res.raw_output_contents as Buffer[])[0] as Buffer;
    expect(raw.length).toBe(ROWS.length * 8);
    ROWS.forEach((row, k) => expect(Math.abs(raw.readDoubleLE(k * 8) - (xgb.expected[row] ?? NaN))).toBeLessThan(1e-6));
  });

  it("maps errors to gRPC status codes with messages naming the field", async () => {
    const unknown = await failure("ModelInfer", { model_name: "nope", inputs: [] });
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toMatch(/endpoint "nope" does not exist/);
    const typed = await failure("ModelInfer", {
      model_name: "credit",
      inputs: [{ name: "a", datatype: "BYTES", shape: [1], contents: { bytes_contents: [Buffer.from("x")] } }],
    });
    expect(typed.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(typed.details).toMatch(/inputs\[0\]\.datatype = "?BYTES"?: must be a numeric datatype/);
    const noName = await failure("ModelInfer", { inputs: [] });
    expect(noName.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noName.details).toMatch(/model_name/);
    const rawCount = await failure("ModelInfer", {
      model_name: "credit",
      inputs: [
        { name: "a", datatype: "FP64", shape: [1] },
        { name: "b", datatype: "FP64", shape: [1] },
      ],
      raw_input_contents: [Buffer.alloc(8)],
    });
    expect(rawCount.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(rawCount.details).toMatch(/raw_input_contents = "?1 entries"?: must hold one entry per input \(2\)/);
    const ready = await failure("ModelReady", { name: "nope" });
    expect(ready.code).toBe(grpc.status.NOT_FOUND);
    expect(ready.details).toBe('model "nope" is not served');
  });

  it("with auth on, needs a bearer token and the writer role to infer, as the REST route does", async () => {
    const tokens = stack.stores.tokens;
    const reader = (await tokens.create({ name: "dash", role: "reader" })).token;
    const writer = (await tokens.create({ name: "app", role: "writer" })).token;
    const secured = await startGrpcInference({
      serving: served.serving,
      host: "127.0.0.1",
      port: 0,
      version: "test",
      auth: { enabled: true, verifier: tokens },
    });
    const pkg = grpc.loadPackageDefinition(
      fromJSON(OIP_GRPC_DESCRIPTOR, { keepCase: true, longs: Number, oneofs: true }),
    ) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    const c = new pkg.inference.GRPCInferenceService(secured.address, grpc.credentials.createInsecure()) as Client;
    const infer = (token: string | undefined) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const md = new grpc.Metadata();
        if (token !== undefined) md.set("authorization", `Bearer ${token}`);
        const req = {
          model_name: "credit",
          inputs: NAMES.map((name) => ({ name, datatype: "FP64", shape: [1], contents: { fp64_contents: [0.5] } })),
        };
        (c.ModelInfer as unknown as (r: unknown, m: grpc.Metadata, cb: Callback) => void).call(c, req, md, (err) =>
          resolve(err),
        );
      });
    try {
      expect((await infer(undefined))?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await infer("not-a-token"))?.code).toBe(grpc.status.UNAUTHENTICATED);
      const denied = await infer(reader);
      expect(denied?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(denied?.details).toMatch(/ModelInfer requires role writer; token 'dash' has role reader/);
      expect(await infer(writer)).toBeNull();
    } finally {
      c.close();
      await secured.close();
    }
  });

  it("counts gRPC requests in the same serving metrics", async () => {
    const metrics = await get(`${served.url}/metrics`);
    expect(metrics.text).toMatch(/protocol="grpc"/);
  });
});
