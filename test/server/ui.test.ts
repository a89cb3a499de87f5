import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { openStores } from "../../src/open-stores.js";
import { startServer } from "../../src/server/start.js";
import type { RunningServer } from "../../src/server/start.js";
import { rejected } from "../keel-error.js";
import { buildUi, firstPageFiles } from "../ui/build.js";

const FIRST_PAGE_LIMIT = 300 * 1024;

let uiDir: string;
let dataDir: string;
let server: RunningServer;
let stores: ReturnType<typeof openStores>;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  uiDir = mkdtempSync(path.join(tmpdir(), "keel-ui-build-"));
  dataDir = mkdtempSync(path.join(tmpdir(), "keel-ui-server-"));
  await buildUi(uiDir);
  const config = loadConfig({
    flags: { dataDir, port: 0, host: "127.0.0.1", authEnabled: true, logLevel: "silent" },
    env: {},
  });
  stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  await stores.migrate();
  for (const role of ["reader", "writer", "approver"] as const) {
    tokens[role] = (await stores.tokens.create({ name: `${role}-ui`, role })).token;
  }
  server = await startServer({ config, stores, uiDir });
}, 180_000);

afterAll(async () => {
  await server.close();
  await stores.close();
  rmSync(uiDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

const get = (p: string, headers: Record<string, string> = {}) => fetch(`${server.url}${p}`, { headers });

describe("the web UI served by keel server", () => {
  it("serves index.html at / without a token (the page asks for one), never cached", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const html = await res.text();
    expect(html).toContain('<div id="app"></div>');
    // No CDN, no external fonts: every reference is to this server.
    expect(html).not.toMatch(/(src|href)="https?:\/\//);
  });

  it("serves hashed assets as immutable, with their content type", async () => {
    const html = await (await get("/")).text();
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const res = await get(script!);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect((await res.text()).length).toBeGreaterThan(1000);
    const css = readdirSync(path.join(uiDir, "assets")).find((f) => f.endsWith(".css"))!;
    expect((await get(`/assets/${css}`)).headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("answers client routes with index.html, so a reload or a shared link opens the page", async () => {
    for (const p of [
      "/experiments/1",
      "/runs/abc",
      "/models/loan-default?version=2",
      "/monitoring/loan-default",
      "/decisions/loan-17",
    ]) {
      const res = await get(p);
      expect(res.status, p).toBe(200);
      expect(await res.text(), p).toContain('<div id="app"></div>');
    }
  });

  it("keeps the APIs' JSON 404s: no index.html under /api, /v2, /metrics, /health …", async () => {
    for (const p of ["/api/keel/nothing", "/api/2.0/mlflow/nothing", "/v2/nothing", "/metrics", "/ajax-api/x"]) {
      const res = await get(p, { authorization: `Bearer ${tokens.reader!}` });
      expect(res.status, p).toBe(404);
      expect(res.headers.get("content-type"), p).toMatch(/^application\/json/);
      // MLflow's clients tell an unknown API route from a missing object by ENDPOINT_NOT_FOUND.
      const code = p.startsWith("/api/2.0/mlflow/") ? "ENDPOINT_NOT_FOUND" : "RESOURCE_DOES_NOT_EXIST";
      expect(((await res.json()) as { error_code: string }).error_code, p).toBe(code);
    }
    // With auth on, every API route still needs a token: the UI's catch-all opens no door.
    expect((await get("/api/keel/whoami")).status).toBe(401);
    expect((await get("/api/2.0/mlflow/experiments/get?experiment_id=0")).status).toBe(401);
  });

  it("answers a missing file with 404 and never serves a file outside the UI's directory", async () => {
    expect((await get("/assets/missing-0000.js")).status).toBe(404);
    expect((await get("/assets/..%2f..%2fpackage.json")).status).toBe(404);
    // Outside the UI's paths a request is the APIs': a token first, then their JSON 404.
    expect((await get("/favicon.ico")).status).toBe(401);
    const reader = { authorization: `Bearer ${tokens.reader!}` };
    for (const p of ["/favicon.ico", "/%2e%2e/%2e%2e/etc/passwd", "/..%2fpackage.json"]) {
      const res = await get(p, reader);
      expect(res.status, p).toBe(404);
      expect(res.headers.get("content-type"), p).toMatch(/^application\/json/);
    }
  });

  it("downloads at most 300 kB (gzip) for the first page", () => {
    const files = firstPageFiles(uiDir);
    const total = files.reduce((a, f) => a + f.gzipBytes, 0);
    console.log(`first page: ${files.map((f) => `${f.file} ${f.gzipBytes} B`).join(", ")}; total ${total} B gzip`);
    expect(files.some((f) => f.file.endsWith(".css"))).toBe(true);
    expect(total).toBeGreaterThan(5000);
    expect(total).toBeLessThanOrEqual(FIRST_PAGE_LIMIT);
    // echarts is only in the pages that draw with it.
    const first = files.map((f) => readFileSync(path.join(uiDir, f.file), "utf8")).join("\n");
    expect(first).not.toContain("echarts");
  });
});

describe("whoami and the audit log", () => {
  const as = (role: string) => new KeelClient({ baseUrl: server.url, token: tokens[role]! });

  it("tells the caller their token name and role; without a token it is a 401", async () => {
    expect(await as("reader").whoami()).toEqual({ auth_enabled: true, name: "reader-ui", role: "reader" });
    expect(await as("approver").whoami()).toEqual({ auth_enabled: true, name: "approver-ui", role: "approver" });
    const e = await rejected(new KeelClient({ baseUrl: server.url }).whoami());
    expect(e.code).toBe("UNAUTHENTICATED");
  });

  it("lists audit rows newest first, filtered by actor, action and object, paged by before_seq", async () => {
    const writer = as("writer");
    await writer.createExperiment("audit-a");
    await writer.createExperiment("audit-b");
    await writer.createRegisteredModel("audited");
    const all = await as("reader").listAudit({ actor: "writer-ui" });
    expect(all.map((r) => r.action)).toEqual(["registered_model.create", "experiment.create", "experiment.create"]);
    expect(all[0]!.seq).toBeGreaterThan(all[1]!.seq);
    expect(all.every((r) => r.actor === "writer-ui")).toBe(true);
    const experiments = await as("reader").listAudit({ action: "experiment.create", actor: "writer-ui" });
    expect(experiments).toHaveLength(2);
    const model = await as("reader").listAudit({ target_type: "registered_model", target_id: "audited" });
    expect(model.map((r) => r.action)).toEqual(["registered_model.create"]);
    const older = await as("reader").listAudit({ actor: "writer-ui", before_seq: all[0]!.seq, limit: 1 });
    expect(older.map((r) => r.seq)).toEqual([all[1]!.seq]);
    // Each row links to the one before it.
    expect(all[0]!.prev_hash).toHaveLength(64);
    expect(await as("reader").verifyAudit()).toEqual({ ok: true, rows: expect.any(Number) as number });
  });

  it("refuses a bad limit or before_seq naming the field", async () => {
    const e = await rejected(as("reader").listAudit({ limit: 0 }));
    expect(e.code).toBe("INVALID_PARAMETER_VALUE");
    expect(e.message).toContain("limit");
    const b = await rejected(as("reader").listAudit({ before_seq: -3 }));
    expect(b.message).toContain("before_seq");
  });
});
