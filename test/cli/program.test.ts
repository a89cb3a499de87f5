import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path, { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli/commands/index.js";
import { numericColumn, writeTable } from "../../src/data/index.js";
import { keelInProcess, REPO } from "./helpers.js";

const ctx = { env: {}, cwd: REPO, out: () => {}, err: () => {} };

/** What `keel ARGS` loads, run in a fresh process. */
function loadedBy(args: readonly string[]): Promise<{ code: number; modules: string[]; sharedObjects: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "test/cli/loaded-modules.ts"), ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "" },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", () => resolve(JSON.parse(out) as { code: number; modules: string[]; sharedObjects: string[] }));
  });
}

const HEAVY =
  /[\\/]node_modules[\\/](@duckdb|@aws-sdk|onnxruntime-node|fastify|ioredis|pg|prom-client|better-sqlite3)[\\/]/;

describe("the command table", () => {
  it.each(commands.map((c) => [c.name, c] as const))(
    "%s registers itself with the summary the help shows",
    async (name, entry) => {
      const program = new Command("keel");
      for (const register of await entry.load()) register(program, ctx);
      const command = program.commands.find((c) => c.name() === name);
      expect(command, `${name} is registered by its module`).toBeDefined();
      expect(command?.description()).toBe(entry.summary);
    },
  );

  it("lists every command once", () => {
    const names = commands.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("start-up imports only what the command uses", () => {
  it("`keel --help` lists every command and loads no database, server or model runtime", async () => {
    const help = await keelInProcess(["--help"]);
    expect(help.code).toBe(0);
    for (const c of commands) expect(help.stdout).toContain(`${c.name} `);
    const run = await loadedBy(["--help"]);
    expect(run.code).toBe(0);
    expect(run.modules.filter((m) => HEAVY.test(m))).toEqual([]);
    expect(run.sharedObjects.filter((m) => HEAVY.test(m))).toEqual([]);
  });

  it("`keel validate` reads a plain CSV without DuckDB, the ONNX runtime or the server", async () => {
    const run = await loadedBy(["validate", "--profile", "test/fixtures/data/mlc_churn.csv"]);
    expect(run.code).toBe(0);
    const loaded = [...run.modules, ...run.sharedObjects];
    expect(loaded.filter((m) => /[\\/]node_modules[\\/](onnxruntime-node|fastify|@duckdb)[\\/]/.test(m))).toEqual([]);
  });

  it("the check can fail: `keel validate` of Parquet loads DuckDB", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-loaded-"));
    const path = join(dir, "t.parquet");
    await writeTable({ nRows: 2, columns: [numericColumn("x", Float64Array.from([1, 2]))] }, path);
    const run = await loadedBy(["validate", "--profile", path]);
    expect(run.code).toBe(0);
    expect([...run.modules, ...run.sharedObjects].some((m) => /[\\/]node_modules[\\/]@duckdb[\\/]/.test(m))).toBe(true);
  });

  it("the check can fail: `keel server --help` loads fastify", async () => {
    const run = await loadedBy(["server", "--help"]);
    expect(run.code).toBe(0);
    expect(run.modules.some((m) => /[\\/]node_modules[\\/]fastify[\\/]/.test(m))).toBe(true);
    // The S3 artifact store's SDK is imported on first use only, even by the server's modules.
    expect(run.modules.filter((m) => /[\\/]node_modules[\\/]@aws-sdk[\\/]/.test(m))).toEqual([]);
  });

  it("`keel help drift` shows drift's own options", async () => {
    const help = await keelInProcess(["help", "drift"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--reference <file>");
  });
});
