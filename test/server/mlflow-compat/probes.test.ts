import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { openStores } from "../../../src/open-stores.js";
import { startServer, type RunningServer } from "../../../src/server/start.js";
import { ModelServer } from "../../../src/serving/index.js";

/**
 * Probes answer without credentials when auth is on (MLflow leaves `/health` unprotected:
 * `mlflow/server/auth/__init__.py::is_unprotected_route`), unless `probesRequireAuth` is set.
 */
async function open(probesRequireAuth: boolean) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "keel-probes-"));
  const config = loadConfig({
    flags: { dataDir, port: 0, host: "127.0.0.1", authEnabled: true, probesRequireAuth, logLevel: "silent" },
    env: {},
  });
  const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  await stores.migrate();
  const serving = new ModelServer({
    registry: stores.registry,
    loadModel: () => Promise.reject(new Error("no models in this test")),
    pollIntervalMs: 600_000,
  });
  await serving.start();
  const server = await startServer({ config, stores, serving });
  return {
    server,
    async close() {
      await server.close();
      await serving.stop();
      await stores.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const PROBES = ["/ping", "/health", "/v2/health/live", "/v2/health/ready", "/v2/models/credit/ready", "/metrics"];

describe("probes with auth on", () => {
  let s: { server: RunningServer; close(): Promise<void> };
  beforeAll(async () => {
    s = await open(false);
  });
  afterAll(async () => {
    await s.close();
  });

  it("answer without credentials: /ping, /health, /v2/health/*, model readiness, /metrics", async () => {
    for (const p of PROBES) {
      const res = await fetch(`${s.server.url}${p}`);
      expect({ path: p, unauthenticated: res.status === 401 }).toEqual({ path: p, unauthenticated: false });
    }
    expect((await fetch(`${s.server.url}/ping`)).status).toBe(200);
    expect(await (await fetch(`${s.server.url}/v2/health/ready`)).json()).toMatchObject({ ready: true });
  });

  it("while scoring and the tracking API still need credentials", async () => {
    const infer = await fetch(`${s.server.url}/v2/models/credit/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [] }),
    });
    expect(infer.status).toBe(401);
    expect((await fetch(`${s.server.url}/api/2.0/mlflow/experiments/search`)).status).toBe(401);
    // A look-alike path is not a probe.
    expect((await fetch(`${s.server.url}/v2/models/credit/ready/extra`)).status).toBe(401);
  });
});

describe("probes with probesRequireAuth", () => {
  it("need credentials like everything else", async () => {
    const s = await open(true);
    try {
      for (const p of ["/ping", "/v2/health/ready", "/metrics"]) {
        expect({ path: p, status: (await fetch(`${s.server.url}${p}`)).status }).toEqual({ path: p, status: 401 });
      }
    } finally {
      await s.close();
    }
  });
});

describe("the probesRequireAuth switch", () => {
  it("is off by default, read from KEEL_PROBES_REQUIRE_AUTH, and refuses a value that is not a boolean", () => {
    const base = { flags: { dataDir: tmpdir() } };
    expect(loadConfig({ ...base, env: {} }).probesRequireAuth).toBe(false);
    expect(loadConfig({ ...base, env: { KEEL_PROBES_REQUIRE_AUTH: "true" } }).probesRequireAuth).toBe(true);
    expect(() => loadConfig({ ...base, env: { KEEL_PROBES_REQUIRE_AUTH: "sometimes" } })).toThrow(
      'probes-require-auth: "sometimes" must be true or false',
    );
  });
});
