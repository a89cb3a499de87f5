import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import { ensureBuilt } from "../built.js";
import { REPO } from "./helpers.js";

const BIN = path.join(REPO, "bin/keel.js");
const ROWS = "8000";
let dir: string;

function run(args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? "" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

/** The URL and JSON body of a printed `curl -s URL -H ... -d '{...}'` line. */
function parseCurl(line: string): { url: string; body: unknown } {
  const m = /curl -s (\S+) -H 'content-type: application\/json' -d '(.*)'$/.exec(line.trim());
  if (m === null) throw new Error(`not a curl line: ${line}`);
  return { url: m[1] as string, body: JSON.parse((m[2] as string).replaceAll(`'\\''`, "'")) };
}

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), "keel-quickstart-"));
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keel quickstart (built CLI)", () => {
  it("--no-serve generates, validates, trains, gates, registers v1 as champion and exits 0; a rerun reuses it", async () => {
    const first = await run(["quickstart", "--no-serve", "--rows", ROWS, "--data-dir", "kd"]);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/ok {3}validate/);
    expect(first.out).toMatch(/gate auc passed: validation AUC 0\.\d+ > 0\.82/);
    expect(first.out).toMatch(/behaviour monotonic credit_score \(decreasing\) passed/);
    expect(first.out).toMatch(/alias champion → loan-default version 1/);
    expect(first.out).toContain(`materialized ${ROWS} applicant records into the online store`);
    for (const f of [
      "features.yaml",
      "affordability.mjs",
      "applicant_events.csv",
      "loan-applications.csv",
      "suite.json",
      "pipeline.json",
    ]) {
      expect(existsSync(path.join(dir, "kd/quickstart", f))).toBe(true);
    }

    const again = await run(["quickstart", "--no-serve", "--rows", ROWS, "--data-dir", "kd"]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/ok {3}train {5}\(cached/);
    expect(again.out).toMatch(/alias champion → loan-default version 1/);

    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "kd/keel.db")}`,
      artifactRoot: path.join(dir, "kd/artifacts"),
    });
    try {
      const model = await stores.registry.getRegisteredModel("loan-default");
      expect(model.aliases).toEqual(
        expect.arrayContaining([
          { alias: "champion", version: "1" },
          { alias: "challenger", version: "1" },
        ]),
      );
      expect(model.latestVersions.map((v) => v.version)).toEqual(["1"]);
      // Trained from the feature service's point-in-time training set, which the version records.
      const v1 = await stores.registry.getModelVersion("loan-default", "1");
      expect(v1.lineage).toMatchObject({ featureService: "loan_default_v1", featureRepoVersion: "1" });
      expect(v1.signature?.inputs.map((c) => c.name)).toContain("debt_to_income_ratio");
      const history = await stores.registry.aliasHistory("loan-default", "champion");
      expect(history.map((h) => h.version)).toEqual(["1"]);
    } finally {
      await stores.close();
    }
  });

  it("serves the champion and the printed curl requests answer over HTTP", async () => {
    const child = spawn(process.execPath, [BIN, "quickstart", "--port", "0", "--rows", ROWS, "--data-dir", "kd"], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "" },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`quickstart did not start serving: ${out}`)), 60_000);
        const poll = setInterval(() => {
          if (/^listening on http/m.test(out)) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          }
        }, 50);
        void exited.then((code) => {
          clearInterval(poll);
          clearTimeout(timer);
          reject(new Error(`quickstart exited with ${code}: ${out}`));
        });
      });
      const lines = out.split("\n");
      const predict = parseCurl((lines.find((l) => l.trim().startsWith("try")) ?? "").replace(/^\s*try\s+/, ""));
      const infer = parseCurl((lines.find((l) => l.trim().startsWith("OIP")) ?? "").replace(/^\s*OIP\s+/, ""));
      expect(predict.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/keel\/endpoints\/loan-default\/predict$/);
      // Served by applicant id: the request names the applicant and the application, not the features.
      const sent = (predict.body as { records: Record<string, unknown>[] }).records[0] ?? {};
      expect(Object.keys(sent).sort()).toEqual(["applicant_id", "loan_amount", "loan_term", "purpose"]);

      const a = await fetch(predict.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(predict.body),
      });
      expect(a.status).toBe(200);
      const answer = (await a.json()) as { predictions: { score: number; model_version: string; route: string }[] };
      expect(answer.predictions).toHaveLength(1);
      expect(answer.predictions[0]?.model_version).toBe("1");
      expect(answer.predictions[0]?.route).toBe("champion");
      const score = answer.predictions[0]?.score ?? NaN;
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThan(1);

      const b = await fetch(infer.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(infer.body),
      });
      expect(b.status).toBe(200);
      const oip = (await b.json()) as { model_name: string; outputs: { name: string; data: number[] }[] };
      expect(oip.model_name).toBe("loan-default");
      // Both protocols score the same record with the same model.
      expect(oip.outputs[0]?.data[0]).toBe(score);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
