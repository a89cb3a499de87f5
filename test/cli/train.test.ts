import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { readTable, takeRows } from "../../src/data/index.js";
import { loadKeelPredictor } from "../../src/learn/keel-model.js";
import { trainValidSplit } from "../../src/learn/train.js";
import { openStores } from "../../src/open-stores.js";
import { rocAuc } from "../../src/stats/classification.js";
import { keelInProcess } from "./helpers.js";

/** The CLI in-process. */
const keel = (args: string[], cwd: string) => keelInProcess(args, { cwd });

const DATA = resolve("test/fixtures/data/mlc_churn.csv");

describe("keel train", () => {
  it("trains, writes the model, logs the run, and prints one JSON object", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-train-"));
    const r = await keel(
      [
        "--json",
        "train",
        "--data",
        DATA,
        "--target",
        "churn",
        "--param",
        "n_estimators=60",
        "--param",
        "max_depth=4",
        "--experiment",
        "churn",
        "--out",
        "m.json",
      ],
      cwd,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as {
      run_id: string;
      metrics: Record<string, number>;
      model_path: string;
      target: { positive_class: string };
      valid_rows: number;
    };
    expect(j.model_path).toBe(join(cwd, "m.json"));
    expect(j.target.positive_class).toBe("yes");
    expect(j.valid_rows).toBe(1000);

    const stores = openStores({
      backendStoreUri: `sqlite:///${join(cwd, "keel-data", "keel.db")}`,
      artifactRoot: join(cwd, "keel-data", "artifacts"),
    });
    try {
      const run = await stores.tracking.getRun(j.run_id);
      expect(run.info.status).toBe("FINISHED");
      const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
      expect(params).toMatchObject({
        model: "gbdt",
        target: "churn",
        positive_class: "yes",
        n_estimators: "60",
        max_depth: "4",
      });
      const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
      expect(metrics.auc).toBe(j.metrics.auc);
      const history = await stores.tracking.getMetricHistory(j.run_id, "valid_auc");
      expect(history.items.length).toBe(60);
      expect(history.items.at(-1)?.value).toBe(j.metrics.auc);
      const exp = await stores.tracking.getExperimentByName("churn");
      const bytes = await stores.artifacts.getFile(`${exp.experimentId}/${j.run_id}/artifacts/model/model.json`);
      expect(new TextDecoder().decode(bytes)).toBe(readFileSync(j.model_path, "utf8"));
    } finally {
      await stores.close();
    }
  });

  it("reports the AUC the saved model gets on the held-out rows", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-train-"));
    const r = await keel(
      ["--json", "train", "--data", DATA, "--target", "churn", "--model", "linear", "--valid-fraction", "0.3"],
      cwd,
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { metrics: Record<string, number>; model_path: string; valid_rows: number };
    expect(j.valid_rows).toBe(1500);
    const frame = await readTable(DATA);
    const { valid } = trainValidSplit(frame.nRows, 0.3, 0);
    const held = takeRows(frame, valid);
    const model = await loadKeelPredictor(j.model_path);
    const p = await model.predict(held);
    const churn = held.columns.find((c) => c.name === "churn");
    if (churn?.kind !== "categorical") throw new Error("churn");
    const yes = churn.dictionary.indexOf("yes");
    const y = Float64Array.from(churn.codes, (c) => (c === yes ? 1 : 0));
    expect(rocAuc(y, p)).toBe(j.metrics.auc);
  });

  it("exits 2 with the field named on bad input", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-train-"));
    const bad = await keel(["train", "--data", DATA, "--target", "churn", "--param", "n_estimators=zero"], cwd);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/n_estimators = "zero"/);
    const noCol = await keel(["train", "--data", DATA, "--target", "nope"], cwd);
    expect(noCol.code).toBe(2);
    expect(noCol.stderr).toMatch(/target = "nope": no such column/);
    const pos = await keel(["train", "--data", DATA, "--target", "churn", "--positive", "maybe"], cwd);
    expect(pos.stderr).toMatch(/positive = "maybe"/);
  });
});
