import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startKeelServer } from "../../src/cli/serve.js";
import { chainKeyringOf, chainSealing } from "../../src/cli/stores.js";
import { loadConfig } from "../../src/config.js";
import { openStores } from "../../src/open-stores.js";
import { verifyChains } from "../../src/store/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "keel-serve-checkpoints-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keel server with an audit keyring", () => {
  it("seals what it records and writes a checkpoint of both chains when it stops", async () => {
    const config = loadConfig({
      flags: { dataDir: dir, port: 0, logLevel: "silent" },
      env: {
        KEEL_AUDIT_KEYS: JSON.stringify({ current: "k1", keys: { k1: "a-secret-of-at-least-thirty-two-bytes" } }),
        KEEL_AUDIT_CHECKPOINT_INTERVAL: "3600",
      },
    });
    expect(config.auditCheckpointDir).toBe(path.join(dir, "audit-checkpoints"));
    const stores = openStores({
      backendStoreUri: config.backendStoreUri,
      artifactRoot: config.artifactRoot,
      chainKeyring: chainKeyringOf(config),
    });
    await stores.migrate();
    const quiet = () => undefined;
    const keel = await startKeelServer(stores, config, { env: {}, cwd: dir, out: quiet, err: quiet });
    const res = await fetch(`${keel.server.url}/api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "sealed" }),
    });
    expect(res.status).toBe(200);
    await keel.close();
    const files = readdirSync(config.auditCheckpointDir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^audit-000000000001-\d+\.json$/);
    expect(files[1]).toMatch(/^decisions-000000000000-\d+\.json$/);
    const verified = await verifyChains(chainSealing(stores, config));
    expect(verified.audit).toEqual({ ok: true, rows: 1, checkpoints: 1 });
    await stores.close();
  });
});
