import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { keel, keelInProcess, keelServer } from "./helpers.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "keel-users-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("keel users", () => {
  it("refuses a missing password or an unknown role in one line, exit 2", async () => {
    const noPassword = await keelInProcess(["users", "create", "alice", "--data-dir", dataDir]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr.trim()).toBe('error: --password = "": required (or set KEEL_USER_PASSWORD)');
    const badRole = await keelInProcess([
      "users",
      "create",
      "alice",
      "--password",
      "long-enough",
      "--role",
      "owner",
      "--data-dir",
      dataDir,
    ]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr.trim().split("\n")).toHaveLength(1);
    const shortPassword = await keelInProcess([
      "users",
      "create",
      "alice",
      "--password",
      "short",
      "--data-dir",
      dataDir,
    ]);
    expect(shortPassword.code).toBe(2);
    expect(shortPassword.stderr.trim()).toBe("error: password must be at least 8 characters");
  });

  it("creates, lists and deletes users; a server with auth on lets them in with HTTP Basic until deleted", async () => {
    const created = await keelInProcess(
      ["users", "create", "alice", "--role", "reader", "--data-dir", dataDir, "--json"],
      {
        env: { KEEL_USER_PASSWORD: "alice-password" },
      },
    );
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ username: "alice", role: "reader" });
    const listed = await keelInProcess(["users", "list", "--data-dir", dataDir, "--json"]);
    expect((JSON.parse(listed.stdout) as { users: { username: string }[] }).users.map((u) => u.username)).toEqual([
      "alice",
    ]);
    expect(listed.stdout).not.toContain("alice-password");

    const { child, url } = await keelServer(["--port", "0", "--data-dir", dataDir], { KEEL_AUTH: "true" });
    try {
      const search = `${url}/api/2.0/mlflow/experiments/search`;
      expect((await fetch(search, { headers: { authorization: basic("alice", "alice-password") } })).status).toBe(200);
      expect((await fetch(search, { headers: { authorization: basic("alice", "wrong-password") } })).status).toBe(401);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await keel(["users", "delete", "alice", "--data-dir", dataDir])).code).toBe(0);
      expect((await fetch(search, { headers: { authorization: basic("alice", "alice-password") } })).status).toBe(401);
    } finally {
      child.kill("SIGTERM");
    }
    const gone = await keelInProcess(["users", "delete", "alice", "--data-dir", dataDir]);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe('error: user with username="alice" does not exist');
  }, 240_000);
});
