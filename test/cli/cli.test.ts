import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { keel, keelServer } from "./helpers.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "keel-cli-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function oneLineError(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

// Each step starts a fresh `keel` process from source; give the tests room on a loaded machine.
const CLI_TIMEOUT = 240_000;

describe("keel CLI", () => {
  it(
    "creates, lists and gets experiments in the local store, in text and --json",
    async () => {
      expect((await keel(["migrate", "--data-dir", dataDir])).stdout).toContain("schema up to date");
      const created = await keel(["experiments", "create", "loan-default", "--data-dir", dataDir, "--json"]);
      expect(created.code).toBe(0);
      const { experiment_id: id } = JSON.parse(created.stdout) as { experiment_id: string };

      // KEEL_DATA_DIR works as the flag does.
      const listed = await keel(["experiments", "list", "--json"], { KEEL_DATA_DIR: dataDir });
      expect(listed.code).toBe(0);
      const names = (JSON.parse(listed.stdout) as { experiments: { name: string }[] }).experiments.map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining(["Default", "loan-default"]));

      const byName = await keel(["experiments", "get", "loan-default", "--data-dir", dataDir]);
      expect(byName.code).toBe(0);
      expect(byName.stdout).toMatch(new RegExp(`^id:\\s+${id}$`, "m"));
      const text = await keel(["experiments", "list", "--data-dir", dataDir]);
      expect(text.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+STAGE\s+CREATED$/);

      const runs = await keel(["runs", "list", "-e", id, "--data-dir", dataDir, "--json"]);
      expect(JSON.parse(runs.stdout)).toEqual({ runs: [] });
      const models = await keel(["models", "list", "--data-dir", dataDir, "--json"]);
      expect(JSON.parse(models.stdout)).toEqual({ registered_models: [] });
      const audit = await keel(["audit", "verify", "--data-dir", dataDir]);
      expect(audit.code).toBe(0);
      expect(audit.stdout).toMatch(/^audit log intact: \d+ rows verified$/m);
    },
    CLI_TIMEOUT,
  );

  it(
    "fails with one readable line and a non-zero exit, never a stack trace",
    async () => {
      expect((await keel(["--help"])).code).toBe(0);
      // No command at all prints the help and is a usage error, as for any missing argument.
      const bare = await keel([]);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toContain("Usage: keel");
      const unknown = await keel(["nonsense"]);
      expect(unknown.code).toBe(2);
      expect(oneLineError(unknown.stderr)).toMatch(/unknown command 'nonsense'/);

      const badUri = await keel(["experiments", "list", "--backend-store-uri", "mysql://db/keel"]);
      expect(badUri.code).toBe(2);
      expect(oneLineError(badUri.stderr)).toBe(
        'error: backend-store-uri "mysql://db/keel" must start with sqlite:// or postgresql://',
      );

      const noRun = await keel(["runs", "get", "0123456789abcdef0123456789abcdef", "--data-dir", dataDir]);
      expect(noRun.code).toBe(1);
      expect(oneLineError(noRun.stderr)).toMatch(/^error: .*0123456789abcdef0123456789abcdef/);

      const badMax = await keel(["experiments", "list", "--max-results", "lots", "--data-dir", dataDir]);
      expect(badMax.code).toBe(2);
      expect(oneLineError(badMax.stderr)).toContain('--max-results = "lots": must be a positive integer');
    },
    CLI_TIMEOUT,
  );

  it(
    "serves the same store over HTTP and reads it back through --tracking-uri",
    async () => {
      const { child, url } = await keelServer(["--port", "0", "--data-dir", dataDir]);
      try {
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const remote = await keel(["experiments", "list", "--json", "--tracking-uri", url]);
        const local = await keel(["experiments", "list", "--json", "--data-dir", dataDir]);
        expect(remote.code).toBe(0);
        expect(JSON.parse(remote.stdout)).toEqual(JSON.parse(local.stdout));
      } finally {
        const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
        child.kill("SIGTERM");
        expect(await exited).toBe(0);
      }
    },
    CLI_TIMEOUT,
  );

  it(
    "manages tokens, and a server with auth on accepts them until revoked",
    async () => {
      const created = await keel([
        "tokens",
        "create",
        "--name",
        "ci",
        "--role",
        "reader",
        "--data-dir",
        dataDir,
        "--json",
      ]);
      expect(created.code).toBe(0);
      const { token, id } = JSON.parse(created.stdout) as { token: string; id: string };
      const badRole = await keel(["tokens", "create", "--name", "x", "--role", "owner", "--data-dir", dataDir]);
      expect(badRole.code).toBe(2);
      expect(oneLineError(badRole.stderr)).toContain(
        '--role = "owner": must be one of reader, predictor, writer, reviewer, approver, admin',
      );

      const listed = await keel(["tokens", "list", "--data-dir", dataDir, "--json"]);
      const tokens = (JSON.parse(listed.stdout) as { tokens: { id: string; name: string; role: string }[] }).tokens;
      expect(tokens).toContainEqual(expect.objectContaining({ id, name: "ci", role: "reader" }));
      expect(listed.stdout).not.toContain(token);

      const { child, url } = await keelServer(["--port", "0", "--data-dir", dataDir], { KEEL_AUTH: "true" });
      try {
        const withToken = await keel(["experiments", "list", "--json", "--tracking-uri", url], { KEEL_TOKEN: token });
        expect(withToken.code).toBe(0);
        const without = await keel(["experiments", "list", "--tracking-uri", url]);
        expect(without.code).toBe(1);
        expect(oneLineError(without.stderr)).toContain("error: authentication required");
        const write = await keel(["experiments", "create", "x", "--tracking-uri", url, "--token", token]);
        expect(write.code).toBe(1);
        expect(oneLineError(write.stderr)).toContain("requires role writer; token 'ci' has role reader");

        expect((await keel(["tokens", "revoke", id, "--data-dir", dataDir])).code).toBe(0);
        const revoked = await keel(["experiments", "list", "--tracking-uri", url, "--token", token]);
        expect(revoked.code).toBe(1);
        expect(oneLineError(revoked.stderr)).toBe("error: invalid or revoked token");
      } finally {
        child.kill("SIGTERM");
      }
    },
    CLI_TIMEOUT,
  );
});
