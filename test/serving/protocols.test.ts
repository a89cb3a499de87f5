import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTool } from "../tools.js";
import { fixture, get, openStack, post, serve, type Served, type Stack } from "./harness.js";

const xgb = fixture("xgb_binary.json");
const promtool = requireTool("promtool");
let stack: Stack;
let served: Served;

beforeAll(async () => {
  stack = await openStack();
  const v = await stack.register("credit", "xgb_binary.json");
  await stack.registry.setAlias("credit", "champion", v);
  served = await serve(stack);
});
afterAll(async () => {
  await served?.close();
  await stack?.close();
});

function tensorOf(rows: number[]): { name: string; shape: number[]; datatype: string; data: (number | null)[] }[] {
  return Object.entries(xgb.columns).map(([name, values]) => ({
    name,
    shape: [rows.length],
    datatype: "FP32",
    data: rows.map((i) => values[i] ?? null),
  }));
}

describe("Open Inference Protocol V2", () => {
  it("answers server metadata, liveness and readiness as the spec shapes them", async () => {
    const meta = await get(`${served.url}/v2`);
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ name: "keel", extensions: ["binary_tensor_data"] });
    expect(typeof (meta.body as { version: unknown }).version).toBe("string");
    expect((await get(`${served.url}/v2/health/live`)).body).toEqual({ live: true });
    expect(await get(`${served.url}/v2/health/ready`)).toMatchObject({ status: 200, body: { ready: true } });
    expect(await get(`${served.url}/v2/models/credit/ready`)).toMatchObject({
      status: 200,
      body: { name: "credit", ready: true },
    });
    expect(await get(`${served.url}/v2/models/credit/versions/1/ready`)).toMatchObject({
      status: 200,
      body: { name: "credit", ready: true },
    });
  });

  it("describes the model with -1 for the variable batch dimension", async () => {
    const r = await get(`${served.url}/v2/models/credit`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      name: "credit",
      versions: ["1"],
      platform: "xgboost_json",
      inputs: ["a", "b", "c", "d", "e"].map((name) => ({ name, datatype: "FP64", shape: [-1] })),
      outputs: [{ name: "score", datatype: "FP64", shape: [-1] }],
    });
    expect((await get(`${served.url}/v2/models/credit/versions/1`)).body).toMatchObject({
      name: "credit",
      versions: ["1"],
    });
  });

  it("scores a spec-shaped request: id echoed, outputs as $response_output, XGBoost's own scores", async () => {
    const rows = [0, 1, 2, 3];
    const r = await post(`${served.url}/v2/models/credit/infer`, {
      id: "42",
      inputs: tensorOf(rows),
      outputs: [{ name: "score" }],
    });
    expect(r.status).toBe(200);
    const body = r.body as {
      model_name: string;
      model_version: string;
      id: string;
      outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
    };
    expect(body).toMatchObject({ model_name: "credit", model_version: "1", id: "42" });
    expect(body.outputs).toHaveLength(1);
    expect(body.outputs[0]).toMatchObject({ name: "score", shape: [4], datatype: "FP64" });
    body.outputs[0]?.data.forEach((s, i) => expect(s).toBeCloseTo(xgb.expected[rows[i] as number] as number, 6));
  });

  it("takes one [N, F] FP32 tensor, nested or flat, in signature order", async () => {
    const rows = [5, 6];
    const matrix = rows.map((i) => ["a", "b", "c", "d", "e"].map((c) => xgb.columns[c]?.[i] ?? null));
    for (const data of [matrix, matrix.flat()]) {
      const r = await post(`${served.url}/v2/models/credit/versions/1/infer`, {
        inputs: [{ name: "input-0", shape: [2, 5], datatype: "FP32", data }],
      });
      expect(r.status).toBe(200);
      const out = r.body as { outputs: { data: number[] }[]; parameters: { route: string } };
      expect(out.parameters.route).toBe("direct");
      out.outputs[0]?.data.forEach((s, i) => expect(s).toBeCloseTo(xgb.expected[rows[i] as number] as number, 6));
    }
  });

  it("answers bad requests with a 4xx {error} naming the field, never a 5xx", async () => {
    const cases: [unknown, number, string][] = [
      ["{not json", 400, "JSON"],
      [{}, 400, "inputs"],
      [{ inputs: [{ name: "a", shape: [3], datatype: "FP32", data: [1] }] }, 400, "inputs[0].data"],
      [{ inputs: [{ name: "a", shape: [1], datatype: "BYTES", data: ["x"] }] }, 400, "inputs[0].datatype"],
      [{ inputs: [{ name: "a", shape: [1], datatype: "FP32", data: ["x"] }] }, 400, "inputs[0].data[0]"],
      [{ inputs: [{ name: "zz", shape: [1], datatype: "FP32", data: [1] }] }, 400, "inputs[0].name"],
      [
        { inputs: [{ name: "a", shape: [1], datatype: "FP32", data: [1] }], outputs: [{ name: "nope" }] },
        400,
        "outputs[0].name",
      ],
    ];
    for (const [body, status, field] of cases) {
      const r = await post(`${served.url}/v2/models/credit/infer`, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(Object.keys(r.body as object)).toEqual(["error"]);
      expect((r.body as { error: string }).error).toContain(field);
    }
    expect((await post(`${served.url}/v2/models/nope/infer`, { inputs: [] })).status).toBe(404);
    expect((await post(`${served.url}/v2/models/credit/versions/99/infer`, { inputs: [] })).status).toBe(404);
  });
});

describe("MLflow scoring protocol", () => {
  const want = [0, 1].map((i) => xgb.expected[i] as number);
  it("accepts the four JSON layouts and CSV, answering {predictions}", async () => {
    const records = [xgb.row(0), xgb.row(1)];
    const cols = ["a", "b", "c", "d", "e"];
    const bodies = [
      { dataframe_split: { columns: cols, data: records.map((r) => cols.map((c) => r[c])) } },
      { dataframe_records: records },
      { instances: records },
      { inputs: Object.fromEntries(cols.map((c) => [c, records.map((r) => r[c])])) },
    ];
    for (const body of bodies) {
      const r = await post(`${served.url}/invocations`, body);
      expect(r.status).toBe(200);
      (r.body as { predictions: number[] }).predictions.forEach((s, i) => expect(s).toBeCloseTo(want[i] as number, 6));
    }
    const csv = [cols.join(","), ...records.map((r) => cols.map((c) => r[c] ?? "").join(","))].join("\n");
    const r = await post(`${served.url}/invocations`, csv, { "content-type": "text/csv" });
    expect(r.status).toBe(200);
    (r.body as { predictions: number[] }).predictions.forEach((s, i) => expect(s).toBeCloseTo(want[i] as number, 6));
    expect((await get(`${served.url}/ping`)).status).toBe(200);
  });

  it("rejects a body with no or several input fields, naming them", async () => {
    const r = await post(`${served.url}/invocations`, { dataframe_records: [], instances: [] });
    expect(r.status).toBe(400);
    expect((r.body as { message: string }).message).toContain("exactly one of the input fields");
    const bad = await post(`${served.url}/invocations`, { dataframe_records: [{ a: "x" }] });
    expect(bad.status).toBe(400);
    expect((bad.body as { details: { field: string } }).details.field).toBe("a");
  });
});

describe("keel predict API", () => {
  it("answers {predictions: [{score, decision, model_version, route}]}", async () => {
    const r = await post(`${served.url}/api/keel/endpoints/credit/predict`, [xgb.row(0), xgb.row(2)]);
    expect(r.status).toBe(200);
    const p = (r.body as { predictions: { score: number; decision: string; model_version: string; route: string }[] })
      .predictions;
    expect(p.map((x) => [x.decision, x.model_version, x.route])).toEqual([
      [(xgb.expected[0] as number) >= 0.5 ? "reject" : "approve", "1", "champion"],
      [(xgb.expected[2] as number) >= 0.5 ? "reject" : "approve", "1", "champion"],
    ]);
    expect(p[0]?.score).toBeCloseTo(xgb.expected[0] as number, 6);
  });

  it("never answers a 5xx to malformed JSON, wrong types or missing fields", async () => {
    for (const body of ["[{", "[]", '{"records": 3}', [{ a: "text" }], [{ a: true }], [[1, 2]], 42]) {
      const r = await post(`${served.url}/api/keel/endpoints/credit/predict`, body);
      expect(r.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(r.status, JSON.stringify(body)).toBeLessThan(500);
    }
  });

  it("answers 400 naming the body to broken or empty JSON on every prediction route, in each protocol's error shape", async () => {
    const routes = [
      {
        url: `${served.url}/api/keel/endpoints/credit/predict`,
        message: (b: unknown) => (b as { message: string }).message,
      },
      { url: `${served.url}/v2/models/credit/infer`, message: (b: unknown) => (b as { error: string }).error },
      { url: `${served.url}/invocations?endpoint=credit`, message: (b: unknown) => (b as { message: string }).message },
    ];
    for (const route of routes) {
      const broken = await post(route.url, '{"inputs": [');
      expect(broken.status, route.url).toBe(400);
      expect(route.message(broken.body), route.url).toMatch(/^request body: not valid JSON/);
      const empty = await post(route.url, "");
      expect(empty.status, route.url).toBe(400);
      expect(route.message(empty.body), route.url).toBe("request body: empty; send a JSON document");
    }
  });
});

describe("/metrics", () => {
  it("is Prometheus text with the serving series", async () => {
    const r = await get(`${served.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.type).toContain("text/plain");
    expect(r.text).toContain(
      'keel_serving_requests_total{endpoint="credit",model_version="1",route="champion",protocol="oip"}',
    );
    expect(r.text).toContain("keel_serving_batch_size_rows_bucket");
    expect(r.text).toMatch(/keel_serving_errors_total\{[^}]*kind="invalid_input"\}/);
  });

  it.skipIf(promtool.skip)("passes promtool check metrics", async () => {
    const r = await get(`${served.url}/metrics`);
    const check = spawnSync(promtool.path, ["check", "metrics"], { input: r.text, encoding: "utf8" });
    expect(check.stderr + check.stdout).toBe("");
    expect(check.status).toBe(0);
  });
});
