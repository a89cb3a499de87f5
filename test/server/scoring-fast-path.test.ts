import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ScoringFastPath } from "../../src/server/scoring-fast-path.js";
import { startServer, type RunningServer } from "../../src/server/start.js";
import type { ModelServer } from "../../src/serving/index.js";
import { fixture, openStack, serve, type Served, type Stack } from "../serving/harness.js";

/**
 * The scoring fast path (node:http in front of Fastify) against Fastify's own routes: every case is
 * sent over a real socket (fast path) and through `app.inject` (which enters Fastify's handler
 * directly), and the two answers must be the same: status, body bytes and headers.
 */
const xgb = fixture("xgb_binary.json");
let stack: Stack;
let serving: ModelServer;
let server: RunningServer;
let served: Served;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stack = await openStack();
  const v = await stack.register("credit", "xgb_binary.json");
  await stack.registry.setAlias("credit", "champion", v);
  served = await serve(stack, { inferenceLog: stack.stores.servingInferenceLog }, { auth: true });
  ({ serving, server } = served);
  for (const role of ["reader", "predictor"] as const) {
    tokens[role] = (await stack.stores.tokens.create({ name: `${role}-token`, role })).token;
  }
});
afterAll(async () => {
  await served.close();
  await stack.close();
});

const tensor = (i: number) =>
  Object.entries(xgb.row(i)).map(([name, v]) => ({ name, datatype: "FP64", shape: [1], data: [v] }));

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** Headers both transports carry (the socket's own connection headers and the date left out). */
function comparable(headers: Record<string, string | string[] | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (["date", "connection", "keep-alive", "transfer-encoding"].includes(k) || v === undefined) continue;
    out[k] = String(v);
  }
  return out;
}

async function overSocket(path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers, body });
  const text = Buffer.from(await res.arrayBuffer()).toString("latin1");
  return { status: res.status, body: text, headers: comparable(Object.fromEntries(res.headers)) };
}

async function throughFastify(path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await server.app.inject({ method: "POST", url: path, headers, payload: body });
  return { status: res.statusCode, body: res.rawPayload.toString("latin1"), headers: comparable(res.headers) };
}

const predictor = (extra: Record<string, string> = {}) => ({
  "content-type": "application/json",
  authorization: `Bearer ${tokens.predictor}`,
  ...extra,
});

describe("the scoring fast path answers as Fastify's routes do", () => {
  const row = JSON.stringify([xgb.row(0)]);
  const cases: [string, string, string, () => Record<string, string>, boolean][] = [
    // [what, path, body, headers, answered by the fast path]
    ["keel predict", "/api/keel/endpoints/credit/predict", row, () => predictor(), true],
    [
      "keel predict with entity id and a charset",
      "/api/keel/endpoints/credit/predict",
      JSON.stringify({ records: [xgb.row(1), xgb.row(2)] }),
      () => predictor({ "content-type": "application/json; charset=utf-8", "x-keel-entity-id": "a-1" }),
      true,
    ],
    ["an unknown endpoint", "/api/keel/endpoints/nope/predict", row, () => predictor(), true],
    ["invalid JSON", "/api/keel/endpoints/credit/predict", "[{", () => predictor(), true],
    ["no records", "/api/keel/endpoints/credit/predict", "[]", () => predictor(), true],
    ["a prototype key", "/api/keel/endpoints/credit/predict", '[{"__proto__":{"x":1}}]', () => predictor(), true],
    ["JSON too deep", "/api/keel/endpoints/credit/predict", "[".repeat(70) + "]".repeat(70), () => predictor(), true],
    [
      "a value of the wrong type",
      "/api/keel/endpoints/credit/predict",
      JSON.stringify([{ ...xgb.row(0), [Object.keys(xgb.row(0))[0] as string]: "high" }]),
      () => predictor(),
      true,
    ],
    [
      "OIP infer",
      "/v2/models/credit/infer",
      JSON.stringify({ id: "oip-1", inputs: tensor(3) }),
      () => predictor(),
      true,
    ],
    [
      "OIP infer with binary output",
      "/v2/models/credit/infer",
      JSON.stringify({ id: "oip-2", inputs: tensor(4), parameters: { binary_data_output: true } }),
      () => predictor(),
      true,
    ],
    [
      "OIP infer of an unknown model",
      "/v2/models/nope/infer",
      JSON.stringify({ inputs: tensor(3) }),
      () => predictor(),
      true,
    ],
    ["OIP infer with bad JSON", "/v2/models/credit/infer", "{", () => predictor(), true],
    ["OIP infer without inputs", "/v2/models/credit/infer", "{}", () => predictor(), true],
    // Handed to Fastify: refused tokens, no token, other content types.
    [
      "a reader's token",
      "/api/keel/endpoints/credit/predict",
      row,
      () => predictor({ authorization: `Bearer ${tokens.reader}` }),
      false,
    ],
    [
      "a revoked or unknown token",
      "/v2/models/credit/infer",
      "{}",
      () => predictor({ authorization: "Bearer nope" }),
      false,
    ],
    ["no token", "/api/keel/endpoints/credit/predict", row, () => ({ "content-type": "application/json" }), false],
    [
      "a text body",
      "/api/keel/endpoints/credit/predict",
      row,
      () => predictor({ "content-type": "text/plain" }),
      false,
    ],
  ];

  it.each(cases)("%s", async (_what, path, body, headers, fast) => {
    const handle = vi.spyOn(ScoringFastPath.prototype, "handle");
    const requestId = { "x-request-id": `req-${path.length}-${body.length}` };
    const socket = await overSocket(path, body, { ...headers(), ...requestId });
    expect(handle).toHaveBeenCalledTimes(1);
    // Refused tokens are checked on the fast path, then answered by Fastify: the spy cannot tell those apart.
    if (!fast && headers().authorization?.startsWith("Bearer ") !== true)
      expect(handle.mock.results[0]?.value).toBe(false);
    if (fast) expect(handle.mock.results[0]?.value).toBe(true);
    handle.mockRestore();
    const fastify = await throughFastify(path, body, { ...headers(), ...requestId });
    expect(socket.status).toBe(fastify.status);
    expect(socket.body).toBe(fastify.body);
    expect(socket.headers).toEqual(fastify.headers);
  });

  it("counts a fast-path request in the serving metrics as a Fastify one is counted", async () => {
    const count = async () => {
      const text = await (
        await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${tokens.reader}` } })
      ).text();
      const line = text
        .split("\n")
        .find((l) => l.startsWith("keel_serving_requests_total{") && l.includes('protocol="keel"'));
      return Number(line?.split(" ").at(-1) ?? 0);
    };
    const before = await count();
    const r = await overSocket("/api/keel/endpoints/credit/predict", JSON.stringify([xgb.row(6)]), predictor());
    expect(r.status).toBe(200);
    expect(await count()).toBe(before + 1);
    const score = (JSON.parse(r.body) as { predictions: { score: number }[] }).predictions[0]?.score;
    expect(score).toBeCloseTo(xgb.expected[6] as number, 6);
  });
});

describe("the scoring fast path and request logging", () => {
  it("stands aside while the server logs every request, so each one is still logged", async () => {
    const lines: string[] = [];
    const logger = {
      level: "info",
      info: (_obj: unknown, msg?: string) => void lines.push(msg ?? ""),
      error: () => undefined,
      warn: () => undefined,
      debug: () => undefined,
      fatal: () => undefined,
      trace: () => undefined,
      silent: () => undefined,
      child() {
        return this;
      },
    };
    const config = loadConfig({ flags: { port: 0, dataDir: stack.dir, logLevel: "info" }, env: {} });
    const logged = await startServer({ config, stores: stack.stores, serving, logger });
    const handle = vi.spyOn(ScoringFastPath.prototype, "handle");
    try {
      const res = await fetch(`${logged.url}/api/keel/endpoints/credit/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify([xgb.row(7)]),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(handle.mock.results.map((r): unknown => r.value)).toEqual([false]);
      expect(lines).toContain("incoming request");
      expect(lines).toContain("request completed");
    } finally {
      handle.mockRestore();
      await logged.close();
    }
  });
});
