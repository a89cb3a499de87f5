import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import { startTestServer, type TestServer } from "../server/helpers.js";
import { keelInProcess } from "./helpers.js";

/** The CLI in-process with only the given environment. */
const keelCli = (args: string[], env: Record<string, string>) => keelInProcess(args, { env });

describe.concurrent("keel promote / rollback on the local store", () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-cli-promote-"));
    env = { KEEL_DATA_DIR: dir };
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    await stores.migrate();
    for (let i = 1; i <= 2; i++) await stores.registry.createModelVersion({ name: "loans", source: `m/${i}` });
    await stores.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("promotes, rolls back, and fails with one readable line and exit ≠ 0", async () => {
    const [noHistory, missing] = await Promise.all([
      keelCli(["rollback", "loans"], env),
      keelCli(["promote", "loans", "7", "--reason", "x"], env),
    ]);
    expect(noHistory.code).toBe(1);
    expect(noHistory.stderr.trim()).toBe(
      'error: cannot roll back alias "champion" of "loans": it has pointed at no other registered version',
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('error: model version (name="loans", version=7) not found');

    const p1 = await keelCli(
      ["promote", "loans", "1", "--to", "champion", "--reason", "first", "--approver", "ana"],
      env,
    );
    expect(p1.code).toBe(0);
    expect(p1.stdout.trim()).toBe("promoted loans: champion -> v1 (was not set) by ana: first");
    const p2 = await keelCli(["--json", "promote", "loans", "2", "--reason", "better AUC"], env);
    expect(p2.code).toBe(0);
    expect(JSON.parse(p2.stdout)).toMatchObject({
      from_version: "1",
      to_version: "2",
      actor: "cli",
      reason: "better AUC",
    });

    const back = await keelCli(["rollback", "loans", "--reason", "FNR regression", "--actor", "ops"], env);
    expect(back.code).toBe(0);
    expect(back.stdout.trim()).toBe("rolled back loans: champion -> v1 (was v2) by ops: FNR regression");
  }, 30_000);
});

describe.concurrent("keel promote / rollback against a server with auth on", () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer({ auth: true });
    for (const role of ["writer", "approver"] as const) {
      tokens[role] = (await server.stores.tokens.create({ name: `${role}-bot`, role })).token;
    }
    for (let i = 1; i <= 2; i++) await server.stores.registry.createModelVersion({ name: "loans", source: `m/${i}` });
  });
  afterAll(async () => {
    await server.close();
  });

  it("needs the approver role and records the token's name as approver", async () => {
    const remote = (role: string) => ({ KEEL_TRACKING_URI: server.url, KEEL_TOKEN: tokens[role]! });
    const denied = await keelCli(["promote", "loans", "1", "--reason", "x"], remote("writer"));
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim()).toBe(
      "error: POST /api/keel/models/loans/promote requires role approver; token 'writer-bot' has role writer",
    );
    expect((await server.stores.registry.getRegisteredModel("loans")).aliases).toEqual([]);

    const ok = await keelCli(["promote", "loans", "2", "--reason", "signed off in CHG-9"], remote("approver"));
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe("promoted loans: champion -> v2 (was not set) by approver-bot: signed off in CHG-9");
    const row = (await server.stores.audit.list({ targetId: "loans" })).at(-1);
    expect(row).toMatchObject({
      actor: "approver-bot",
      action: "registered_model.promote",
      after: { alias: "champion", version: "2", reason: "signed off in CHG-9" },
    });
    const none = await keelCli(["rollback", "loans"], remote("approver"));
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toBe(
      'error: cannot roll back alias "champion" of "loans": it has pointed at no other registered version than version 2',
    );
  }, 30_000);
});
