import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Kysely } from "kysely";
import { loadConfig } from "../../src/config.js";
import type { Signature } from "../../src/data/signature.js";
import { openStores } from "../../src/open-stores.js";
import type { RegistryStore } from "../../src/registry/types.js";
import { startServer, type RunningServer } from "../../src/server/start.js";
import { SqlInferenceLog, type SqlInferenceLogOptions } from "../../src/store/inference-log-sql.js";
import { openMetadataDb, type MetadataDb } from "../../src/store/metadata-db.js";
import { ModelServer, type ModelServerOptions } from "../../src/serving/index.js";
import { FIXTURES, fixtureLoader } from "./fixtures.js";

export { fixture, fixtureLoader, type Fixture } from "./fixtures.js";

export interface Stack {
  readonly dir: string;
  readonly registry: RegistryStore;
  readonly stores: Awaited<ReturnType<typeof openStores>>;
  register(model: string, fixtureName: string, signature?: Signature): Promise<string>;
  close(): Promise<void>;
}

export async function openStack(): Promise<Stack> {
  const dir = mkdtempSync(path.join(tmpdir(), "keel-serving-"));
  const stores = openStores({
    backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
    artifactRoot: path.join(dir, "artifacts"),
  });
  await stores.migrate();
  return {
    dir,
    registry: stores.registry,
    stores,
    register: async (model, fixtureName, signature) =>
      (
        await stores.registry.createModelVersion({
          name: model,
          source: path.join(FIXTURES, fixtureName),
          ...(signature ? { signature } : {}),
        })
      ).version,
    close: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Served {
  readonly url: string;
  readonly serving: ModelServer;
  readonly server: RunningServer;
  close(): Promise<void>;
}

/** The stack's models behind `keel server` on a free port; `auth` turns bearer-token auth on. */
export async function serve(
  stack: Stack,
  options: Partial<ModelServerOptions> = {},
  { auth = false }: { auth?: boolean } = {},
): Promise<Served> {
  const serving = new ModelServer({
    registry: stack.registry,
    loadModel: fixtureLoader,
    pollIntervalMs: 100,
    ...options,
  });
  await serving.start();
  const config = loadConfig({
    flags: { port: 0, dataDir: stack.dir, logLevel: "silent", authEnabled: auth },
    env: {},
  });
  const server = await startServer({ config, stores: stack.stores, serving });
  return {
    url: server.url,
    serving,
    server,
    close: async () => {
      await server.close();
      await serving.stop();
    },
  };
}

export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the raw text
  }
  return { status: res.status, body: parsed };
}

export async function get(url: string): Promise<{ status: number; body: unknown; text: string; type: string | null }> {
  const res = await fetch(url);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the raw text
  }
  return { status: res.status, body: parsed, text, type: res.headers.get("content-type") };
}

/** An inference log in a migrated SQLite database of its own in the stack's folder. */
export async function openInferenceLog(
  stack: Stack,
  flushIntervalMs: number,
  options: Omit<SqlInferenceLogOptions, "flushIntervalMs"> = {},
): Promise<{ meta: MetadataDb; db: Kysely<unknown>; log: SqlInferenceLog }> {
  const meta = openMetadataDb(`sqlite:///${path.join(stack.dir, "log.db")}`);
  await meta.migrate();
  const db = meta.db as Kysely<unknown>;
  return { meta, db, log: new SqlInferenceLog(meta, { ...options, flushIntervalMs }) };
}
