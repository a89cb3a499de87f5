import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server/start.js";
import { fixture, openStack, post, serve, type Served, type Stack } from "./harness.js";

const xgb = fixture("xgb_binary.json");
let stack: Stack;
let server: RunningServer;
let served: Served;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stack = await openStack();
  const v = await stack.register("credit", "xgb_binary.json");
  await stack.registry.setAlias("credit", "champion", v);
  served = await serve(stack, { inferenceLog: stack.stores.servingInferenceLog }, { auth: true });
  server = served.server;
  for (const role of ["reader", "predictor", "writer"] as const) {
    tokens[role] = (await stack.stores.tokens.create({ name: `${role}-token`, role })).token;
  }
});
afterAll(async () => {
  await served.close();
  await stack.close();
});

const as = (role: string) => ({ authorization: `Bearer ${tokens[role]}` });
const tensor = (i: number) =>
  Object.entries(xgb.row(i)).map(([name, v]) => ({ name, datatype: "FP64", shape: [1], data: [v] }));

async function call(method: string, path: string, role: string, body?: unknown): Promise<number> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...as(role), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe("a predictor token scores and changes nothing", () => {
  it("scores through OIP infer, /invocations and keel predict; a reader may not", async () => {
    const scoring: [string, unknown][] = [
      ["/v2/models/credit/infer", { inputs: tensor(0) }],
      ["/v2/models/credit/versions/1/infer", { inputs: tensor(1) }],
      ["/invocations", { dataframe_records: [xgb.row(2)] }],
      ["/api/keel/endpoints/credit/predict", [xgb.row(3)]],
    ];
    for (const [path, body] of scoring) {
      const r = await post(`${server.url}${path}`, body, as("predictor"));
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
      expect(await call("POST", path, "reader", body), path).toBe(403);
      expect(await call("POST", path, "writer", body), path).toBe(200);
    }
    const keel = (await post(`${server.url}/api/keel/endpoints/credit/predict`, [xgb.row(5)], as("predictor")))
      .body as {
      predictions: { score: number }[];
    };
    expect(keel.predictions[0]?.score).toBeCloseTo(xgb.expected[5] as number, 6);
  });

  it("is refused every change: experiments, registry, aliases, endpoints, labels, rollbacks", async () => {
    const changes: [string, string, unknown][] = [
      ["POST", "/api/2.0/mlflow/experiments/create", { name: "nope" }],
      ["POST", "/api/2.0/mlflow/registered-models/create", { name: "nope" }],
      ["POST", "/api/2.0/mlflow/registered-models/alias", { name: "credit", alias: "champion", version: "1" }],
      ["DELETE", "/api/2.0/mlflow/registered-models/delete", { name: "credit" }],
      ["PUT", "/api/keel/endpoints/credit", { model: "credit" }],
      ["POST", "/api/keel/labels", { labels: [{ request_id: "r", label: 1 }] }],
      ["POST", "/api/keel/models/credit/rollback", {}],
    ];
    for (const [method, path, body] of changes) {
      expect(await call(method, path, "predictor", body), `${method} ${path}`).toBe(403);
    }
    // It may still read what it scores against.
    expect(await call("GET", "/v2/models/credit", "predictor")).toBe(200);
    expect((await stack.registry.getRegisteredModel("credit")).aliases).toEqual([{ alias: "champion", version: "1" }]);
  });
});
