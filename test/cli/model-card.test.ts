import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { openStores, type Stores } from "../../src/open-stores.js";
import { buildModelCard, loadModelCard, modelCardMarkdown, type ModelCard } from "../../src/pipeline/index.js";
import { startServer, type RunningServer } from "../../src/server/index.js";
import { requireTool } from "../tools.js";
import { REPO, keelInProcess } from "./helpers.js";

const chromium = requireTool("chromium");
const SECTIONS = [
  "intended-use",
  "limitations",
  "model",
  "training-data",
  "features",
  "metrics",
  "gates",
  "fairness",
  "behaviour",
  "calibration",
  "importance",
  "history",
];
/** User text that would run or add elements if it were not escaped. */
const LIMITATIONS = `Not for small business loans. <script>document.title="pwned"</script><b id="injected">x</b> & "quotes"`;
const INTENDED = "Rank retail loan applications by default risk; a person decides declines.";

let dir: string;
let stores: Stores;
let card: ModelCard;
let html: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "keel-model-card-"));
  const data = path.join(dir, "kd");
  const qs = await keelInProcess(["quickstart", "--no-serve", "--rows", "8000", "--data-dir", data]);
  expect(qs.stderr).toBe("");
  expect(qs.code).toBe(0);
  const out = path.join(dir, "card.html");
  const made = await keelInProcess([
    "models",
    "card",
    "loan-default",
    "1",
    "--format",
    "html",
    "--output",
    out,
    "--set",
    `limitations=${LIMITATIONS}`,
    "--set",
    `intended_use=${INTENDED}`,
    "--data-dir",
    data,
  ]);
  expect(made.stderr).toBe("");
  expect(made.code).toBe(0);
  html = readFileSync(out, "utf8");
  stores = openStores({
    backendStoreUri: `sqlite:///${path.join(data, "keel.db")}`,
    artifactRoot: path.join(data, "artifacts"),
  });
  card = await loadModelCard(stores, "loan-default", "1");
}, 240_000);

afterAll(async () => {
  await stores?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the model card of the quickstart's version", () => {
  it("is kept with the version and fills every section from the registry, the run and the audit log", async () => {
    const mv = await stores.registry.getModelVersion("loan-default", "1");
    const run = await stores.tracking.getRun(mv.runId);
    expect(card.intendedUse).toBe(INTENDED);
    expect(card.limitations).toBe(LIMITATIONS);
    expect(card.model).toMatchObject({
      name: "loan-default",
      version: "1",
      artifactSha256: mv.checksum,
      runId: mv.runId,
    });
    expect(card.model.algorithm).toBe("gbdt");
    expect(card.model.hyperparameters.n_estimators).toBe("150");
    // Training data: the bytes kept with the version hash to what the lineage recorded.
    const kept = mv.tags.find((t) => t.key === "keel.training_data")?.value as string;
    const bytes = await stores.artifacts.getFile(kept);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(mv.lineage?.dataHash);
    expect(card.trainingData).toMatchObject({ sha256: mv.lineage?.dataHash, rows: 8000, target: "default" });
    expect((card.trainingData.trainRows ?? 0) + (card.trainingData.validRows ?? 0)).toBe(8000);
    expect(card.trainingData.expectations).toBeGreaterThan(0);
    expect(card.features.map((f) => f.name)).toEqual(mv.signature?.inputs.map((c) => c.name));
    for (const m of run.data.metrics) expect(card.metrics[m.key]).toBe(m.value);
    expect(card.threshold).toBe(0.1);
    expect(card.gates.map((g) => g.gate)).toEqual(["auc", "ks", "fnr", "auc_vs_champion", "demographic_parity:region"]);
    expect(card.fairness).toHaveLength(1);
    expect(card.fairness[0]?.segments.map((s) => s.value).sort()).toEqual(["east", "north", "south", "west"]);
    expect(card.fairness[0]?.segments.reduce((n, s) => n + s.rows, 0)).toBe(card.trainingData.validRows);
    expect(card.behaviourTests).toMatchObject([{ test: "monotonic", feature: "credit_score", passed: true }]);
    expect(card.calibration.ece).toBe(run.data.metrics.find((m) => m.key === "ece")?.value);
    if ("unavailable" in card.importance) throw new Error(card.importance.unavailable);
    expect(card.importance.features.map((f) => f.feature).sort()).toEqual(
      mv.signature?.inputs.map((c) => c.name).sort(),
    );
    // credit score drives the generator's default risk: the model leans on it most.
    expect(card.importance.features[0]?.feature).toBe("credit_score");
    expect(card.history.map((h) => [h.action, h.detail])).toEqual([
      ["model_version.create", "registered version 1"],
      ["registered_model.set_alias", "alias challenger: not set → version 1"],
      ["registered_model.promote", "alias champion: not set → version 1"],
    ]);
    expect(card.history[2]?.actor).toBe("keel-quickstart");
    expect(card.history[2]?.reason).toMatch(/passed every gate/);
    // Recording the card is audited on the version.
    const tags = await stores.audit.list({ targetType: "model_version", targetId: "loan-default/1" });
    expect(
      tags.some((a) => a.action === "model_version.set_tag" && JSON.stringify(a.after).includes("keel.model_card")),
    ).toBe(true);
  });

  it.skipIf(chromium.skip)(
    "renders in headless Chromium with every section filled and the user's text escaped",
    () => {
      const page = path.join(dir, "card.html");
      const dom = execFileSync(
        chromium.path,
        [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
          `--user-data-dir=${path.join(dir, "profile")}`,
          "--dump-dom",
          `file://${page}`,
        ],
        { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"] },
      );
      expect(dom).toContain("<title>Model card: loan-default version 1</title>");
      for (const id of SECTIONS) {
        const m = new RegExp(`<section id="${id}"><h2>[^<]+</h2>([\\s\\S]*?)</section>`).exec(dom);
        expect(m, id).not.toBeNull();
        const body = (m as RegExpExecArray)[1] as string;
        // Filled: a paragraph or a table with rows, never a placeholder.
        expect(body, id).toMatch(/<p>[^<]|<tbody><tr>/);
        expect(body, id).not.toMatch(/Not stated|Not available|\(none recorded\)/);
      }
      // The limitations text is text in the parsed page: no element, no script ran.
      expect(dom).not.toContain('<b id="injected">');
      expect(dom).not.toContain("<script>");
      expect(dom).not.toContain("pwned</title>");
      expect(dom).toContain(
        '&lt;script&gt;document.title="pwned"&lt;/script&gt;&lt;b id="injected"&gt;x&lt;/b&gt; &amp;',
      );
    },
    120_000,
  );

  it("explains the training bytes kept with the version when the source file is gone", async () => {
    const file = card.trainingData.path as string;
    renameSync(file, `${file}.moved`);
    try {
      const sources = { ...stores, audit: stores.audit.list.bind(stores.audit) };
      const again = await buildModelCard(sources, "loan-default", "1");
      expect(again.importance).toEqual(card.importance);
    } finally {
      renameSync(`${file}.moved`, file);
    }
  });

  it("says what keel has no record of for a version registered by hand", async () => {
    const file = path.join(REPO, "test/fixtures/models/xgb_binary.json");
    const mv = await stores.registry.createModelVersion({ name: "imported", source: file }, { userId: "ops" });
    const sources = { ...stores, audit: stores.audit.list.bind(stores.audit) };
    const bare = await buildModelCard(sources, "imported", mv.version);
    expect(bare).toMatchObject({
      intendedUse: null,
      limitations: null,
      gates: [],
      fairness: [],
      behaviourTests: [],
      importance: { unavailable: "the version's lineage names no training data file" },
      history: [{ actor: "ops", action: "model_version.create" }],
    });
    const md = modelCardMarkdown(bare);
    expect(md).toContain("Not stated (set it with `keel models card … --set intended_use=TEXT`).");
    expect(md).toContain("## Gates\n\n(none recorded)");
  });

  it("is served by the GET route and the client, as JSON, Markdown and HTML", async () => {
    const config = loadConfig({ flags: { port: 0, host: "127.0.0.1", logLevel: "silent" }, env: {} });
    const server: RunningServer = await startServer({ config, stores });
    try {
      const client = new KeelClient({ baseUrl: server.url });
      expect(await client.getModelCard("loan-default", "1")).toEqual(card);
      const served = await client.getModelCardText("loan-default", "1", "html");
      expect(served).toBe(html);
      const md = await client.getModelCardText("loan-default", "1", "md");
      expect(md).toContain("## Known limitations\n\nNot for small business loans. &lt;script&gt;");
      expect(md).toContain("| feature | mean \\|SHAP\\| |");
      const bad = await fetch(`${server.url}/api/keel/models/loan-default/versions/1/card?format=pdf`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toBe('format = "pdf": must be one of md, html, json');
      const missing = await fetch(`${server.url}/api/keel/models/loan-default/versions/9/card`);
      expect(missing.status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
