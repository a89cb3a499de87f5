import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliContext } from "../../src/cli/context.js";
import { startKeelServer } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { openStores, type Stores } from "../../src/open-stores.js";

let dir: string;
let uiDir: string;
let stores: Stores;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "keel-serve-roles-"));
  uiDir = path.join(dir, "ui");
  mkdirSync(uiDir);
  writeFileSync(path.join(uiDir, "index.html"), '<!doctype html><div id="app"></div>');
  const config = loadConfig({ flags: { port: 0, dataDir: path.join(dir, "data"), logLevel: "silent" }, env: {} });
  stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  await stores.migrate();
});

afterAll(async () => {
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `keel server --roles R --grpc-port 0` over the shared stores; the lines it logs, and what answers. */
async function replica(roles: string): Promise<{ out: string[]; grpc: boolean; uiStatus: number }> {
  const config = loadConfig({
    flags: { port: 0, grpcPort: 0, dataDir: path.join(dir, "data"), logLevel: "silent" },
    env: {},
  });
  const out: string[] = [];
  const ctx: CliContext = { env: {}, cwd: dir, out: (t) => out.push(t), err: (t) => out.push(t) };
  const keel = await startKeelServer(stores, config, ctx, {
    roles,
    uiDir,
    monitoring: { models: [], delayMinutes: 5 },
  });
  try {
    const res = await fetch(`${keel.server.url}/`);
    await res.arrayBuffer();
    return { out, grpc: keel.grpc !== undefined, uiStatus: res.status };
  } finally {
    await keel.close();
  }
}

describe("keel server --roles governs the gRPC service and the web UI", () => {
  it("a serving replica serves gRPC inference but not the UI", async () => {
    const r = await replica("serving");
    expect(r.grpc).toBe(true);
    expect(r.uiStatus).toBe(404);
  });

  it("an api replica serves the UI but starts no gRPC service, and says so", async () => {
    const r = await replica("api,scheduler");
    expect(r.grpc).toBe(false);
    expect(r.out.join("\n")).toContain("gRPC inference not started: this replica has no serving role");
    expect(r.uiStatus).toBe(200);
  });
});
