import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_LIMITS } from "../../src/spec-fields.js";
import { startTestServer, type TestServer } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

async function send(
  method: string,
  path: string,
  body?: string,
  contentType = "application/json",
): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { "content-type": contentType } }),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
}

describe("request limits (docs/api.md)", () => {
  it("refuses JSON nested past the depth limit on every kind of route, naming the limit", async () => {
    const deep = "[".repeat(10_000) + "]".repeat(10_000);
    for (const [method, path] of [
      ["POST", "/api/2.0/mlflow/experiments/create"],
      ["PUT", "/api/keel/endpoints/loans"],
      ["POST", "/api/keel/labels"],
      ["POST", "/api/2.0/mlflow/registered-models/alias"],
    ] as const) {
      const r = await send(method, path, `{"name": ${deep}}`);
      expect(r.status, path).toBe(400);
      expect(r.json).toEqual({
        error_code: "INVALID_PARAMETER_VALUE",
        message: `request body: JSON nested deeper than ${REQUEST_LIMITS.jsonDepth} levels`,
        details: { field: "body", rule: `nesting depth at most ${REQUEST_LIMITS.jsonDepth}`, limit: 64 },
      });
    }
    // At the limit it parses (and then fails for what it is, not for its depth).
    const ok = await send("POST", "/api/2.0/mlflow/experiments/create", `{"name": ${"[".repeat(63)}${"]".repeat(63)}}`);
    expect(ok.json.message).toMatch(/^name = \[\[\[.*: must be a string$/);
  });

  it("quotes at most a short prefix of a huge bad value", async () => {
    const filter = `name = '${"x".repeat(3_000_000)}`;
    const r = await send("POST", "/api/2.0/mlflow/registered-models/search", JSON.stringify({ filter }));
    expect(r.status).toBe(400);
    expect(r.text.length).toBeLessThan(1000);
    expect(r.json.message).toContain(`must be at most ${REQUEST_LIMITS.textChars} characters (3000008 given)`);
  });

  it("never echoes more than a short prefix of a bad value in an error body", async () => {
    const bad: [string, unknown][] = [
      ["/api/2.0/mlflow/registered-models/search", { filter: `name = 'a' AND ${"x".repeat(60_000)}` }],
      ["/api/2.0/mlflow/runs/search", { experiment_ids: ["0"], filter: `metrics.a > ${"9".repeat(60_000)}x` }],
      ["/api/2.0/mlflow/runs/search", { experiment_ids: ["0"], order_by: [`${"z".repeat(60_000)} DESC`] }],
    ];
    for (const [path, body] of bad) {
      const r = await send("POST", path, JSON.stringify(body));
      expect(r.status, path).toBe(400);
      expect(r.text.length, path).toBeLessThan(1600);
      expect(r.json.message, path).toMatch(/… \(\d+ characters\)$/);
    }
  });

  it("refuses a number where a name goes, and a name with a NUL or over the name limit", async () => {
    await server.client.createModelVersion({ name: "loans", source: "/tmp/none" });
    const alias = await send(
      "POST",
      "/api/2.0/mlflow/registered-models/alias",
      '{"name": "loans", "alias": 1e400, "version": "1"}',
    );
    expect(alias.status).toBe(400);
    expect(alias.json.message).toBe("alias = Infinity: must be a string");
    const nul = await send("POST", "/api/2.0/mlflow/registered-models/create", JSON.stringify({ name: "a\u0000b" }));
    expect(nul.status).toBe(400);
    expect(nul.json.message).toBe('name = "a\\u0000b": must not contain a NUL character');
    const experiment = await server.client.createExperiment("limits");
    const run = await send(
      "POST",
      "/api/2.0/mlflow/runs/create",
      JSON.stringify({ experiment_id: experiment, run_name: "r".repeat(3_000_000) }),
    );
    expect(run.status).toBe(400);
    expect(run.json.message).toMatch(/^run_name = "r+\.\.\.: must be at most 256 characters \(3000000 given\)$/);
    expect((await server.client.searchRuns({ experiment_ids: [experiment] })).runs).toEqual([]);
    // Ids may still come as JSON numbers, as MLflow's older clients send them.
    const byNumber = await send("GET", `/api/2.0/mlflow/experiments/get?experiment_id=${experiment}`);
    expect(byNumber.status).toBe(200);
  });

  it("caps labels per request", async () => {
    const labels = Array.from({ length: REQUEST_LIMITS.labelsPerRequest + 1 }, (_, i) => ({
      request_id: `r${i}`,
      label: 1,
    }));
    const posted = await send("POST", "/api/keel/labels", JSON.stringify({ labels }));
    expect(posted.status).toBe(400);
    expect(posted.json.message).toBe(`labels = "10001 items": must hold at most 10000 items per request`);
  });

  it("answers Fastify's own refusals in keel's error format", async () => {
    const long = await send("GET", `/api/keel/decisions/${"d".repeat(REQUEST_LIMITS.pathParamChars + 1)}`);
    expect(long.status).toBe(414);
    expect(long.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(long.json.message).toBe("request path: a path segment is longer than 512 characters");
    const type = await send(
      "POST",
      "/api/2.0/mlflow/experiments/create",
      "name=x",
      "application/x-www-form-urlencoded",
    );
    expect(type.status).toBe(415);
    expect(type.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    const big = await send(
      "POST",
      "/api/2.0/mlflow/experiments/create",
      JSON.stringify({ name: "x".repeat(17 * 1024 * 1024) }),
    );
    expect(big.status).toBe(413);
    expect(big.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    const proto = await send(
      "POST",
      "/api/2.0/mlflow/experiments/create",
      '{"name": "p", "__proto__": {"admin": true}}',
    );
    expect(proto.status).toBe(400);
    expect(proto.json.message).toBe('request body: key "__proto__" is not allowed');
  });
});
