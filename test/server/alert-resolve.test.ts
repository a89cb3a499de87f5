import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { startMonitoring } from "../../src/server/monitoring-wiring.js";
import type { RunningMonitoring } from "../../src/server/monitoring-wiring.js";
import { startServer } from "../../src/server/start.js";
import type { RunningServer } from "../../src/server/start.js";
import { rejected } from "../keel-error.js";
import { sqliteStores } from "../store/backends.js";
import type { TestStores } from "../store/backends.js";

const T0 = Date.UTC(2024, 5, 3);
let open: TestStores;
let monitoring: RunningMonitoring;
let server: RunningServer;
let dataDir: string;
const tokens: Record<string, string> = {};
const as = (role: string) => new KeelClient({ baseUrl: server.url, token: tokens[role]! });

beforeAll(async () => {
  open = await sqliteStores();
  dataDir = mkdtempSync(path.join(tmpdir(), "keel-alert-resolve-"));
  const config = loadConfig({
    flags: { dataDir, port: 0, host: "127.0.0.1", authEnabled: true, logLevel: "silent", backendStoreUri: open.uri },
    env: {},
  });
  monitoring = startMonitoring(open.stores, {});
  server = await startServer({ config, stores: open.stores, monitoring: monitoring.services });
  for (const role of ["reader", "writer"] as const) {
    tokens[role] = (await open.stores.tokens.create({ name: `oncall-${role}`, role })).token;
  }
});

afterAll(async () => {
  await server.close();
  await monitoring.stop();
  await open.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("resolving an alert by hand", () => {
  it("closes it under the caller's name, audited; a second resolve and a reader are refused", async () => {
    const fired = await open.stores.alerts.fire({
      ruleId: "credit_score_psi_notify",
      tier: "notify",
      dedupKey: "credit_score_psi_notify|loans|3|||",
      modelName: "loans",
      modelVersion: "3",
      feature: "credit_score",
      summary: "loans v3 (credit_score): psi = 0.31 > 0.1",
      value: 0.31,
      threshold: 0.1,
      windowStart: T0 - 3_600_000,
      windowEnd: T0,
      detail: { observed: 0.31 },
    });
    const denied = await rejected(as("reader").resolveAlert(fired.id));
    expect(denied.code).toBe("PERMISSION_DENIED");
    const resolved = await as("writer").resolveAlert(fired.id);
    expect(resolved).toMatchObject({ id: fired.id, status: "resolved" });
    expect(resolved.resolved_at).not.toBeNull();
    const audit = await as("reader").listAudit({ action: "alert.resolve" });
    expect(audit.map((r) => [r.actor, r.target_id])).toEqual([["oncall-writer", fired.id]]);
    const again = await rejected(as("writer").resolveAlert(fired.id));
    expect(again.code).toBe("INVALID_STATE");
    expect(again.message).toContain("already resolved");
    const missing = await rejected(as("writer").resolveAlert("0000000000000000"));
    expect(missing.code).toBe("RESOURCE_DOES_NOT_EXIST");
  });
});
