import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeelServer, type KeelServer } from "../../src/cli/serve.js";
import { quickstartPipeline } from "../../src/cli/commands/quickstart.js";
import { KeelClient, type MonitorRunJson } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { generateLoanApplications, writeTable, type Frame, type Signature } from "../../src/data/index.js";
import { runPipelineFile } from "../../src/pipeline/index.js";
import { promoteAlias, versionDecision } from "../../src/registry/index.js";
import { proposeSuite } from "../../src/validate/index.js";
import { sqliteStores, type TestStores } from "../store/backends.js";
import { requireTool } from "../tools.js";

const promtool = requireTool("promtool");

/**
 * The quickstart's model behind `keel server` as the quickstart starts it — no monitoring config,
 * no endpoint config: the champion is monitored, the default endpoint answers with the default
 * decision labels, and the default rules watch them. Eight windows of traffic (seven alike, then
 * one from a riskier population with broken incomes) must fire the reject-rate and out-of-range
 * rules on the last window, and neither before.
 */
const MODEL = "loan-default";
const BATCH = 200;
const WINDOWS = 8;

type Value = number | string;

/** Rows of `frame` as request records, skipping rows the signature would not take (nulls where it has none). */
function records(frame: Frame, signature: Signature, rows: readonly number[]): Record<string, Value | null>[] {
  const out: Record<string, Value | null>[] = [];
  for (const r of rows) {
    const rec: Record<string, Value | null> = {};
    let ok = true;
    for (const input of signature.inputs) {
      const col = frame.columns.find((c) => c.name === input.name)!;
      const v = col.kind === "numeric" ? col.values[r]! : col.codes[r]! < 0 ? NaN : col.dictionary[col.codes[r]!]!;
      if (typeof v === "number" && Number.isNaN(v)) {
        if (!input.nullable) ok = false;
        rec[input.name] = null;
      } else rec[input.name] = v;
    }
    if (ok) out.push(rec);
  }
  return out;
}

let open: TestStores;
let keel: KeelServer;
let client: KeelClient;
let dir: string;
let signature: Signature;
let threshold: number;
let lastRun: MonitorRunJson | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "keel-default-rules-"));
  open = await sqliteStores();
  const frame = generateLoanApplications({ rows: 8000, seed: 7, driftMonths: 0 });
  await writeTable(frame, path.join(dir, "loan-applications.csv"));
  writeFileSync(path.join(dir, "suite.json"), JSON.stringify(proposeSuite(frame)));
  writeFileSync(path.join(dir, "pipeline.json"), JSON.stringify(quickstartPipeline({ data: "loan-applications.csv" })));
  const stores = open.stores;
  const result = await runPipelineFile(path.join(dir, "pipeline.json"), {
    tracking: stores.tracking,
    registry: stores.registry,
    artifacts: stores.artifacts,
    actor: { userId: "test" },
  });
  expect(result.failure ?? "").toBe("");
  const version = result.registered!.version;
  await promoteAlias(stores.registry, { name: MODEL, version, approver: "test", reason: "default rules test" });
  const registered = await stores.registry.getModelVersion(MODEL, version);
  signature = registered.signature as Signature;
  // The threshold the pipeline's gates certified travels with the version; serving decides at it.
  threshold = versionDecision(registered)?.threshold ?? 0.5;
  const config = loadConfig({
    flags: { dataDir: dir, port: 0, host: "127.0.0.1", logLevel: "silent", backendStoreUri: open.uri },
    env: {},
  });
  const ignore = () => undefined;
  keel = await startKeelServer(stores, config, { env: {}, cwd: dir, out: ignore, err: ignore });
  client = new KeelClient({ baseUrl: keel.server.url });
}, 120_000);

afterAll(async () => {
  await keel?.close();
  await open?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function predict(batch: readonly Record<string, Value | null>[]): Promise<{ score: number; decision: string }[]> {
  const res = await fetch(`${keel.server.url}/api/keel/endpoints/${MODEL}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ records: batch }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { predictions: { score: number; decision: string }[] }).predictions;
}

describe("the quickstart's default rules", () => {
  it("fire on served traffic: reject rate against the previous seven windows, and values outside the training range", async () => {
    const fresh = generateLoanApplications({ rows: 4000, seed: 99, driftMonths: 0 });
    const target = fresh.columns.find((c) => c.name === "default")!;
    const defaulted = (i: number) => target.kind === "numeric" && target.values[i] === 1;
    const all = [...Array(fresh.nRows).keys()];
    const ordinary = records(
      fresh,
      signature,
      all.filter((i) => i % 2 === 0),
    );
    // The last window: applicants who went on to default, a riskier population than the seven before.
    const risky = records(fresh, signature, all.filter(defaulted)).slice(0, BATCH);
    const incomeMax = signature.inputs.find((c) => c.name === "annual_income")!.range!.max;
    // One row in ten carries an income ten times the largest the model was trained on.
    for (let i = 0; i < risky.length; i += 10) risky[i]!.annual_income = incomeMax * 10;
    expect(risky.length).toBe(BATCH);

    const windows: { from: number; to: number; rejectRate: number }[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      // The same ordinary applicants in each of the first seven windows: a steady reject rate.
      const batch = w < WINDOWS - 1 ? ordinary.slice(0, BATCH) : risky;
      const from = Date.now();
      const answers = await predict(batch);
      if (w === WINDOWS - 1) {
        // One request the door refuses (text where the signature wants a number): counted, logged.
        const bad = await fetch(`${keel.server.url}/api/keel/endpoints/${MODEL}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ records: [{ ...batch[0], credit_score: "seven hundred" }] }),
        });
        expect(bad.status).toBe(400);
      }
      const to = Date.now() + 1;
      // The endpoint's decision labels, from its scores and the version's stored threshold.
      for (const a of answers) expect(a.decision).toBe(a.score >= threshold ? "reject" : "approve");
      windows.push({ from, to, rejectRate: answers.filter((a) => a.decision === "reject").length / answers.length });
      await new Promise((r) => setTimeout(r, 3));
    }
    // The async inference log commits in the background: wait until every answered row is readable.
    const deadline = Date.now() + 20_000;
    while ((await open.stores.inferenceLog.query({ modelName: MODEL, limit: 10_000 })).length < WINDOWS * BATCH + 1) {
      if (Date.now() > deadline) throw new Error("the inference log did not commit every answered row");
      await new Promise((r) => setTimeout(r, 50));
    }

    const runs: MonitorRunJson[] = [];
    for (const w of windows) runs.push(await client.runMonitorWindow({ model: MODEL, from: w.from, to: w.to }));
    const fired = (run: MonitorRunJson) => run.alerts_fired.map((a) => a.rule_id);
    for (const run of runs.slice(0, -1)) {
      expect(fired(run)).not.toContain("reject_rate_business");
      expect(fired(run)).not.toContain("out_of_range_notify");
    }
    const last = runs[runs.length - 1]!;
    lastRun = last;
    const refused = last.observations.find((o) => o.metric === "refused_rate");
    expect(refused).toMatchObject({ kind: "volume", value: 1 / (BATCH + 1), detail: { refused: 1, rows: BATCH } });
    expect(runs[0]!.observations.find((o) => o.metric === "refused_rate")?.value).toBe(0);
    const rate = last.observations.find((o) => o.metric === "decision_rate" && o.segment === "decision=reject");
    expect(rate?.value).toBeCloseTo(windows[WINDOWS - 1]!.rejectRate, 12);

    // The rule's condition, computed from the answers themselves.
    const baseline = windows.slice(0, -1).reduce((s, w) => s + w.rejectRate, 0) / (WINDOWS - 1);
    const change = windows[WINDOWS - 1]!.rejectRate / baseline - 1;
    expect(Math.abs(change)).toBeGreaterThan(0.15);
    const reject = last.alerts_fired.find((a) => a.rule_id === "reject_rate_business");
    expect(reject).toMatchObject({ tier: "business", model_name: MODEL, segment: "decision=reject" });
    expect(reject!.value).toBeCloseTo(Math.abs(change), 10);

    // Which inputs of the last batch lie outside the training range (the signature's), counted here.
    const outside = new Map<string, number>();
    for (const input of signature.inputs) {
      if (input.range === undefined) continue;
      const { min, max } = input.range;
      const values = risky.map((r) => r[input.name]).filter((v): v is number => typeof v === "number");
      const n = values.filter((v) => v < min || v > max).length;
      if (n / values.length > 0.001) outside.set(input.name, n / values.length);
    }
    expect(outside.get("annual_income")).toBeGreaterThanOrEqual(0.1);
    const outOfRange = last.alerts_fired.filter((a) => a.rule_id === "out_of_range_notify");
    expect(outOfRange.map((a) => a.feature).sort()).toEqual([...outside.keys()].sort());
    for (const a of outOfRange) {
      expect(a).toMatchObject({ tier: "notify", model_name: MODEL, threshold: 0.001 });
      expect(a.value, a.feature ?? "").toBeCloseTo(outside.get(a.feature!)!, 12);
    }
    expect((await client.listAlerts({ model: MODEL, status: "open" })).map((a) => a.rule_id)).toEqual(
      expect.arrayContaining(["reject_rate_business", "out_of_range_notify"]),
    );
  });

  it("exports the latest window's drift, decision rates and data quality on /metrics, per model version, for Grafana", async () => {
    const last = lastRun!;
    const text = await (await fetch(`${keel.server.url}/metrics`)).text();
    const version = last.versions[0]!.version;
    const sample = (name: string, labels: Record<string, string>) => {
      const want = Object.entries({
        model: MODEL,
        model_version: version,
        endpoint: "",
        feature: "",
        segment: "",
        ...labels,
      })
        .map(([k, v]) => `${k}="${v}"`)
        .join(",");
      const line = text.split("\n").find((l) => l.startsWith(`${name}{${want}} `));
      if (line === undefined) throw new Error(`no sample ${name}{${want}} in /metrics`);
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    const obs = (metric: string, feature: string | null, segment: string | null = null) =>
      last.observations.find((o) => o.metric === metric && o.feature === feature && o.segment === segment)!.value;
    for (const metric of ["psi", "ks_statistic", "ks_p_value"]) {
      expect(sample("keel_monitoring_drift", { feature: "credit_score", metric })).toBeCloseTo(
        obs(metric, "credit_score"),
        12,
      );
    }
    expect(
      sample("keel_monitoring_prediction_drift", { segment: "decision=reject", metric: "decision_rate" }),
    ).toBeCloseTo(obs("decision_rate", null, "decision=reject"), 12);
    expect(sample("keel_monitoring_quality", { feature: "annual_income", metric: "out_of_range_rate" })).toBeCloseTo(
      obs("out_of_range_rate", "annual_income"),
      12,
    );
    expect(sample("keel_monitoring_volume", { model_version: "", metric: "refused_rate" })).toBeCloseTo(
      1 / (BATCH + 1),
      12,
    );
    expect(text).toMatch(
      new RegExp(
        `keel_serving_errors_total\\{endpoint="${MODEL}",model_version="${version}",route="champion",kind="invalid_input"\\} 1\n`,
      ),
    );
    // serving's own series stay on the same page
    expect(text).toContain(
      `keel_serving_requests_total{endpoint="${MODEL}",model_version="${version}",route="champion",protocol="keel"}`,
    );
  });

  it.skipIf(promtool.skip)("passes promtool check metrics with monitoring's families", async () => {
    const text = await (await fetch(`${keel.server.url}/metrics`)).text();
    expect(text).toContain("# TYPE keel_monitoring_drift gauge");
    const check = spawnSync(promtool.path, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stderr + check.stdout).toBe("");
    expect(check.status).toBe(0);
  });
});
