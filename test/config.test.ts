import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";

const dir = mkdtempSync(path.join(tmpdir(), "keel-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the audit settings of the config", () => {
  it("default to no keyring, checkpoints under the data directory every 300 s", () => {
    const c = loadConfig({ flags: { dataDir: "d" }, env: {}, cwd: dir });
    expect(c.auditKeyFile).toBeUndefined();
    expect(c.auditKeys).toBeUndefined();
    expect(c.auditCheckpointDir).toBe(path.join(dir, "d", "audit-checkpoints"));
    expect(c.auditCheckpointInterval).toBe(300);
  });

  it("come from the environment, and a config file may hold the keyring as an object", () => {
    const env = {
      KEEL_AUDIT_KEY_FILE: "keys.json",
      KEEL_AUDIT_CHECKPOINT_DIR: "/srv/keel-checkpoints",
      KEEL_AUDIT_CHECKPOINT_INTERVAL: "60",
    };
    const c = loadConfig({ env, cwd: dir });
    expect(c.auditKeyFile).toBe(path.join(dir, "keys.json"));
    expect(c.auditCheckpointDir).toBe("/srv/keel-checkpoints");
    expect(c.auditCheckpointInterval).toBe(60);
    const file = path.join(dir, "keel.json");
    const keyring = { current: "a", keys: { a: "s".repeat(32) } };
    writeFileSync(file, JSON.stringify({ auditKeys: keyring }));
    expect(JSON.parse(loadConfig({ env: { KEEL_CONFIG: file }, cwd: dir }).auditKeys ?? "")).toEqual(keyring);
  });

  it("refuses an interval that is not a whole number of seconds up to a day", () => {
    for (const bad of ["-1", "1.5", "86401", "soon"]) {
      expect(() => loadConfig({ env: { KEEL_AUDIT_CHECKPOINT_INTERVAL: bad }, cwd: dir })).toThrow(
        /^audit-checkpoint-interval ".*" must be an integer number of seconds from 0 to 86400$/,
      );
    }
  });
});
