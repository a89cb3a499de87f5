import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { readTable } from "../../src/data/index.js";
import type { openStores } from "../../src/open-stores.js";
import { startModelServing } from "../../src/server/model-serving.js";
import { startServer } from "../../src/server/start.js";
import type { DecisionJson, DecisionReplayJson } from "../../src/wire/index.js";
import { keelInProcess } from "../cli/helpers.js";
import { rejected } from "../keel-error.js";
import { until } from "../until.js";
import { postgresStores, sqliteStores, type MakeStores } from "../store/backends.js";
import { FIXTURES } from "../serving/fixtures.js";

/** XGBoost's own pred_contribs for xgb_binary.json's rows (test/fixtures/explain/make_explain_fixtures.py). */
const contribs = JSON.parse(
  readFileSync(new URL("../fixtures/explain/xgb_binary.json.contribs.json", import.meta.url), "utf8"),
) as { features: string[]; columns: Record<string, (number | null)[]>; contribs: number[][] };
const row = (i: number) => Object.fromEntries(contribs.features.map((f) => [f, contribs.columns[f]?.[i] ?? null]));

type Prediction = {
  score: number;
  decision: string;
  model_version: string;
  route: string;
  reasons?: { feature: string; value: unknown; contribution: number }[];
};

async function register(stores: ReturnType<typeof openStores>, file: string) {
  const bytes = new Uint8Array(readFileSync(path.join(FIXTURES, file)));
  await stores.artifacts.putFile(`models/credit/${file}`, bytes);
  const blob = await stores.artifacts.statFile(`models/credit/${file}`);
  const mv = await stores.registry.createModelVersion({
    name: "credit",
    source: `mlflow-artifacts:/models/credit/${file}`,
    checksum: blob.sha256,
  });
  return { version: mv.version, sha256: blob.sha256 };
}

function suite(name: string, make: MakeStores) {
  describe(`decision records served, shown, exported and replayed on ${name}`, () => {
    it("records every served decision with its reason codes; verify names an edited record; readers only read", async () => {
      const t = await make();
      try {
        await scenario(t);
      } finally {
        await t.close();
      }
    });
  });
}

async function scenario(t: Awaited<ReturnType<MakeStores>>) {
  const env = { KEEL_BACKEND_STORE_URI: t.uri, KEEL_ARTIFACT_ROOT: t.artifactRoot };
  const cli = (...args: string[]) => keelInProcess(args, { env });
  const s = t.stores;
  const v1 = await register(s, "xgb_binary.json");
  const v2 = await register(s, "xgb_binary_base.json");
  await s.registry.setAlias("credit", "champion", v1.version);
  const writer = await s.tokens.create({ name: "loan-service", role: "writer" });
  const reader = await s.tokens.create({ name: "auditor", role: "reader" });
  const servingFile = path.join(t.artifactRoot, "..", "serving.json");
  writeFileSync(
    servingFile,
    JSON.stringify({
      endpoints: [
        {
          name: "loans",
          model: "credit",
          challenger: { version: v2.version, percent: 30 },
          explain: { top_k: 3 },
          decision: { threshold: 0.5, positive: "decline", negative: "approve" },
        },
      ],
    }),
  );
  const config = loadConfig({
    flags: {
      port: 0,
      host: "127.0.0.1",
      backendStoreUri: t.uri,
      artifactRoot: t.artifactRoot,
      logLevel: "silent",
      authEnabled: true,
    },
    env: {},
  });
  const model = await startModelServing(s, config, { servingFile });
  const server = await startServer({ config, stores: s, serving: model.serving });
  const asWriter = { "content-type": "application/json", authorization: `Bearer ${writer.token}` };
  try {
    // 40 single-row decisions on keel's predict API, one two-row request, and OIP with per-request top_k
    const answers = new Map<string, Prediction>();
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${server.url}/api/keel/endpoints/loans/predict`, {
        method: "POST",
        headers: { ...asWriter, "x-request-id": `loan-${i}` },
        body: JSON.stringify(row(i)),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { predictions: Prediction[] };
      answers.set(`loan-${i}`, body.predictions[0] as Prediction);
    }
    const two = await fetch(`${server.url}/api/keel/endpoints/loans/predict`, {
      method: "POST",
      headers: { ...asWriter, "x-request-id": "batch-7" },
      body: JSON.stringify({ records: [row(50), row(51)], explain: { top_k: 1 } }),
    });
    const twoBody = (await two.json()) as { predictions: Prediction[] };
    twoBody.predictions.forEach((p, k) => answers.set(`batch-7#${k}`, p));
    expect(twoBody.predictions.map((p) => p.reasons?.length)).toEqual([1, 1]);
    const oip = await fetch(`${server.url}/v2/models/loans/infer`, {
      method: "POST",
      headers: asWriter,
      body: JSON.stringify({
        id: "oip-1",
        parameters: { explain_top_k: 2 },
        inputs: contribs.features.map((f) => ({ name: f, shape: [1], datatype: "FP64", data: [row(60)[f]] })),
      }),
    });
    const oipBody = (await oip.json()) as { model_version: string; outputs: { name: string; data: unknown[] }[] };
    expect(oipBody.outputs.map((o) => o.name)).toEqual(["score", "reasons"]);
    const oipReasons = JSON.parse(oipBody.outputs[1]?.data[0] as string) as Prediction["reasons"];
    expect(oipReasons).toHaveLength(2);
    await s.servingInferenceLog.flush();

    // the reason codes are XGBoost's own pred_contribs, largest |contribution| first
    const ids = [...answers.keys(), "oip-1"];
    const rowOf = (id: string) =>
      id === "oip-1" ? 60 : id.startsWith("batch-7#") ? 50 + Number(id.slice(8)) : Number(id.slice(5));
    const served = (id: string) => (id === "oip-1" ? oipBody.model_version : answers.get(id)?.model_version);
    let checked = 0;
    for (const id of ids) {
      if (served(id) !== v1.version) continue;
      const reasons = id === "oip-1" ? oipReasons : answers.get(id)?.reasons;
      const phi = contribs.contribs[rowOf(id)] as number[];
      const byMagnitude = contribs.features
        .map((f, j) => ({ f, c: phi[j] as number }))
        .sort((a, b) => Math.abs(b.c) - Math.abs(a.c));
      reasons?.forEach((r, k) => {
        expect(r.feature).toBe(byMagnitude[k]?.f);
        expect(r.contribution).toBeCloseTo(byMagnitude[k]?.c as number, 5);
        expect(r.value).toEqual(row(rowOf(id))[r.feature]);
      });
      checked++;
    }
    expect(checked).toBeGreaterThan(20);

    // every decision can be shown, by the typed client with a reader token
    const auditor = new KeelClient({ baseUrl: server.url, token: reader.token });
    // The log is asynchronous: an answer may be sent before its record is queued.
    await until("every answered request to be recorded", async () => {
      await s.servingInferenceLog.flush();
      const found = await Promise.all(
        ids.map((id) =>
          auditor.getDecision(id).then(
            () => true,
            () => false,
          ),
        ),
      );
      return found.every(Boolean);
    });
    const shown = new Map<string, DecisionJson>();
    for (const id of ids) {
      const [d] = await auditor.getDecision(id);
      shown.set(id, d as DecisionJson);
    }
    expect((await auditor.getDecision("batch-7")).map((d) => d.request_id)).toEqual(["batch-7#0", "batch-7#1"]);
    for (const [id, p] of answers) {
      const d = shown.get(id) as DecisionJson;
      expect(d).toMatchObject({
        request_id: id,
        caller: "loan-service",
        endpoint: "loans",
        model_name: "credit",
        model_version: p.model_version,
        artifact_sha256: p.model_version === v1.version ? v1.sha256 : v2.sha256,
        threshold: 0.5,
        inputs: row(rowOf(id)),
        score: p.score,
        decision: p.decision,
        reasons: p.reasons,
        route: p.route,
      });
    }
    expect(new Set([...shown.values()].map((d) => d.route))).toEqual(new Set(["champion", "challenger"]));
    const declines = await auditor.searchDecisions({ endpoint: "loans", decision: "decline" });
    expect(declines.decisions.map((d) => d.request_id).sort()).toEqual(
      [...shown.values()]
        .filter((d) => d.decision === "decline")
        .map((d) => d.request_id)
        .sort(),
    );
    const page = await auditor.searchDecisions({ model_version: v2.version, max_results: 2 });
    expect(page.decisions.every((d) => d.model_version === v2.version)).toBe(true);
    expect(page.next_page_token).toBeDefined();

    // roles by effect: no token is refused; no token of any role can change a record over HTTP
    expect((await fetch(`${server.url}/api/keel/decisions/loan-1`)).status).toBe(401);
    const admin = await s.tokens.create({ name: "root", role: "admin" });
    for (const method of ["PUT", "PATCH", "DELETE", "POST"]) {
      const res = await fetch(`${server.url}/api/keel/decisions/loan-1`, {
        method,
        headers: { authorization: `Bearer ${admin.token}` },
        ...(method === "DELETE" ? {} : { body: JSON.stringify({ score: 0 }) }),
      });
      expect(res.status).toBe(404);
    }
    expect((await auditor.getDecision("loan-1"))[0]?.score).toBe(answers.get("loan-1")?.score);
    const missing = await rejected(auditor.getDecision("never-sent"));
    expect(missing.code).toBe("RESOURCE_DOES_NOT_EXIST");
    // the chain verified over HTTP by a reader: every served decision, none broken; no token is refused
    expect(await auditor.verifyDecisions()).toEqual({ ok: true, records: allIds().length, pruned: 0 });
    expect((await fetch(`${server.url}/api/keel/decisions/chain/verify`)).status).toBe(401);
  } finally {
    await server.close();
    await model.stop();
  }

  // export: every decision, in each format
  const dir = path.dirname(t.artifactRoot);
  const all = allIds().length;
  for (const ext of ["jsonl", "csv", "parquet"]) {
    const out = path.join(dir, `decisions.${ext}`);
    const r = await cli("decisions", "export", "--from", "2000-01-01", "--output", out);
    expect(r.code, r.stderr).toBe(0);
    if (ext === "jsonl") {
      const lines = readFileSync(out, "utf8").trim().split("\n");
      expect(lines).toHaveLength(all);
      expect((JSON.parse(lines[0] as string) as DecisionJson).caller).toBe("loan-service");
    } else {
      const frame = await readTable(out);
      expect(frame.nRows).toBe(all);
      expect(frame.columns.map((c) => c.name)).toEqual(expect.arrayContaining(["request_id", "score", "hash"]));
    }
  }

  // replay: one decision, then the whole window, bit for bit
  const one = await cli("--json", "decisions", "replay", "loan-3");
  expect(one.code, one.stderr).toBe(0);
  const replayed = JSON.parse(one.stdout) as DecisionReplayJson;
  expect(Object.keys(replayed)).toEqual(["request_id", "recorded_score", "replayed_score", "match"]);
  expect(replayed).toMatchObject({ request_id: "loan-3", match: true });
  expect(replayed.replayed_score).toBe(replayed.recorded_score);
  expect(typeof replayed.replayed_score).toBe("number");
  const window = await cli("--json", "decisions", "replay", "--from", "0", "--to", String(Date.now() + 1000));
  expect(window.code, window.stderr).toBe(0);
  expect(JSON.parse(window.stdout)).toMatchObject({ replayed: all, matched: all, mismatched: 0 });

  // legal hold through the CLI, audited with the CLI as actor
  expect((await cli("decisions", "hold", "batch-7", "--reason", "case 12")).stdout).toContain(
    "2 decision records of batch-7 under legal hold",
  );
  const holds = JSON.parse((await cli("--json", "decisions", "holds")).stdout) as { requestId: string }[];
  expect(holds.map((h) => h.requestId)).toEqual(["batch-7#0", "batch-7#1"]);
  expect((await cli("decisions", "release", "batch-7")).code).toBe(0);
  expect(JSON.parse((await cli("--json", "decisions", "holds")).stdout)).toEqual([]);

  // verify: intact, then one edited record is named
  expect((await cli("decisions", "verify")).stdout).toContain(`decision records intact: ${all} verified`);
  await sql`update inference_log set outputs = '{"score":0.01,"decision":"approve"}' where request_id = 'loan-17'`.execute(
    s.metadata.db,
  );
  const broken = await cli("decisions", "verify");
  expect(broken.code).toBe(1);
  expect(broken.stdout).toMatch(/BROKEN at record \d+: record \d+ \(request loan-17\) was altered/);
}

function allIds(): string[] {
  return [...Array.from({ length: 40 }, (_, i) => `loan-${i}`), "batch-7#0", "batch-7#1", "oip-1"];
}

suite("SQLite", sqliteStores);
suite("PostgreSQL", postgresStores);
