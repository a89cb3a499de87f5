import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { KeelClient } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { openStores } from "../../src/open-stores.js";
import { startServer } from "../../src/server/start.js";
import { pgSchemaUri } from "../services.js";

export type TestStores = ReturnType<typeof openStores>;

export interface TestServer {
  readonly url: string;
  readonly client: KeelClient;
  readonly stores: TestStores;
  readonly dataDir: string;
  close(): Promise<void>;
}

/**
 * The real server on a free port, over a fresh store: SQLite in a temp directory by default, or
 * the given backend URI (e.g. a fresh PostgreSQL schema).
 */
export async function startTestServer(options: { auth?: boolean; backendStoreUri?: string } = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "keel-server-"));
  const config = loadConfig({
    flags: {
      dataDir,
      port: 0,
      host: "127.0.0.1",
      authEnabled: options.auth ?? false,
      logLevel: "silent",
      backendStoreUri: options.backendStoreUri,
    },
    env: {},
  });
  const stores = openStores({
    backendStoreUri: config.backendStoreUri,
    artifactRoot: config.artifactRoot,
    ...(config.webhookSecret === undefined ? {} : { webhookSecret: config.webhookSecret }),
  });
  await stores.migrate();
  const server = await startServer({ config, stores });
  return {
    url: server.url,
    client: new KeelClient({ baseUrl: server.url }),
    stores,
    dataDir,
    async close() {
      await server.close();
      await stores.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Raw HTTP for the cases a typed client would not send. */
export async function http(
  url: string,
  method: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, json: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
}

/** A PostgreSQL URI on the machine's server, in a schema of its own so runs do not collide. */
export function freshPostgresUri(tag: string): string {
  return pgSchemaUri(`keel_${tag}_${process.pid}_${Date.now()}`);
}
