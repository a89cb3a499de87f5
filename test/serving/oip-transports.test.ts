import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, openStack, serve, type Served, type Stack } from "./harness.js";

/** XGBoost's own scores for the fixture's rows (test/fixtures/models/make_fixtures.py). */
const xgb = fixture("xgb_binary.json");
const NAMES = Object.keys(xgb.columns);
const ROWS = [0, 1, 2, 7];
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

/** A raw HTTP POST: exact headers (none added), the answer's headers and bytes. */
function rawPost(
  path: string,
  body: Buffer,
  headers: Record<string, string | number>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(path, served.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { ...headers, "content-length": body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function jsonInputs(): unknown {
  return {
    inputs: NAMES.map((name) => ({
      name,
      shape: [ROWS.length],
      datatype: "FP64",
      data: ROWS.map((i) => xgb.columns[name]?.[i] ?? null),
    })),
  };
}

function expectScores(scores: ArrayLike<number>): void {
  expect(scores.length).toBe(ROWS.length);
  ROWS.forEach((row, k) => expect(Math.abs((scores[k] ?? NaN) - (xgb.expected[row] ?? NaN))).toBeLessThan(1e-6));
}

const errorOf = (body: Buffer) => (JSON.parse(body.toString("utf8")) as { error: string }).error;

const scoresOf = (body: Buffer) =>
  (JSON.parse(body.toString("utf8")) as { outputs: { data: number[] }[] }).outputs[0]?.data ?? [];

describe("OIP infer transports", () => {
  it.each([
    ["no content type", {}],
    ["curl -d's form label", { "content-type": "application/x-www-form-urlencoded" }],
    ["JSON with a charset", { "content-type": "application/json; charset=utf-8" }],
  ])("reads a JSON body sent with %s", async (_label, headers) => {
    const r = await rawPost("/v2/models/credit/infer", Buffer.from(JSON.stringify(jsonInputs())), headers);
    expect(r.status).toBe(200);
    expectScores(scoresOf(r.body));
  });

  it("reads binary input tensors after the JSON header and answers binary outputs (Triton's example layout)", async () => {
    // One [N, 5] FP32 tensor as binary, rows in row-major order; the output asked for in binary.
    const width = NAMES.length;
    const data = Buffer.alloc(ROWS.length * width * 4);
    ROWS.forEach((row, k) =>
      NAMES.forEach((name, j) => data.writeFloatLE(xgb.columns[name]?.[row] ?? NaN, (k * width + j) * 4)),
    );
    const header = Buffer.from(
      JSON.stringify({
        model_name: "credit",
        inputs: [
          {
            name: "input0",
            shape: [ROWS.length, width],
            datatype: "FP32",
            parameters: { binary_data_size: data.length },
          },
        ],
        outputs: [{ name: "score", parameters: { binary_data: true } }],
      }),
    );
    const r = await rawPost("/v2/models/credit/infer", Buffer.concat([header, data]), {
      "content-type": "application/octet-stream",
      "inference-header-content-length": header.length,
    });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/octet-stream");
    const n = Number(r.headers["inference-header-content-length"]);
    const head = JSON.parse(r.body.subarray(0, n).toString("utf8")) as {
      outputs: {
        name: string;
        shape: number[];
        datatype: string;
        parameters: { binary_data_size: number };
        data?: unknown;
      }[];
    };
    expect(head.outputs).toEqual([
      { name: "score", shape: [ROWS.length], datatype: "FP64", parameters: { binary_data_size: ROWS.length * 8 } },
    ]);
    const tail = r.body.subarray(n);
    expect(tail.length).toBe(ROWS.length * 8);
    expectScores(ROWS.map((_, k) => tail.readDoubleLE(k * 8)));
  });

  it("reads one binary tensor per column and answers binary when binary_data_output asks for all outputs", async () => {
    const cols = NAMES.map((name) => {
      const b = Buffer.alloc(ROWS.length * 8);
      ROWS.forEach((row, k) => b.writeDoubleLE(xgb.columns[name]?.[row] ?? NaN, k * 8));
      return { name, b };
    });
    const header = Buffer.from(
      JSON.stringify({
        inputs: cols.map(({ name, b }) => ({
          name,
          shape: [ROWS.length],
          datatype: "FP64",
          parameters: { binary_data_size: b.length },
        })),
        parameters: { binary_data_output: true },
      }),
    );
    const r = await rawPost("/v2/models/credit/infer", Buffer.concat([header, ...cols.map((c) => c.b)]), {
      "inference-header-content-length": header.length,
    });
    expect(r.status).toBe(200);
    const n = Number(r.headers["inference-header-content-length"]);
    expectScores(ROWS.map((_, k) => r.body.readDoubleLE(n + k * 8)));
  });

  it("refuses inconsistent binary requests with the header or parameter named", async () => {
    const header = Buffer.from(
      JSON.stringify({ inputs: [{ name: "a", shape: [2], datatype: "FP64", parameters: { binary_data_size: 16 } }] }),
    );
    const short = await rawPost("/v2/models/credit/infer", Buffer.concat([header, Buffer.alloc(8)]), {
      "inference-header-content-length": header.length,
    });
    expect(short.status).toBe(400);
    expect(errorOf(short.body)).toMatch(/inputs\[0\]\.parameters\.binary_data_size = 16: exceeds the 8 binary bytes/);
    const bad = await rawPost("/v2/models/credit/infer", header, { "inference-header-content-length": "abc" });
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body)).toMatch(/Inference-Header-Content-Length = "?abc"?/);
    const raw = await rawPost("/v2/models/credit/infer", Buffer.alloc(16), { "inference-header-content-length": 0 });
    expect(raw.status).toBe(400);
    expect(errorOf(raw.body)).toMatch(/raw binary requests/);
    const odd = Buffer.from(
      JSON.stringify({ inputs: [{ name: "a", shape: [1], datatype: "FP64", parameters: { binary_data_size: 3 } }] }),
    );
    const r = await rawPost("/v2/models/credit/infer", Buffer.concat([odd, Buffer.alloc(3)]), {
      "inference-header-content-length": odd.length,
    });
    expect(r.status).toBe(400);
    expect(errorOf(r.body)).toMatch(/must be a multiple of 8 bytes for FP64/);
  });

  it("caps the body at the server's body limit (16 MiB)", async () => {
    const r = await rawPost("/v2/models/credit/infer", Buffer.alloc(16 * 1024 * 1024 + 1, 0x20), {
      "content-type": "application/octet-stream",
    });
    expect(r.status).toBe(413);
  });
});
