import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readTable } from "../../src/data/index.js";
import { KeelPredictor, parseKeelModel, serializeKeelModel } from "../../src/learn/keel-model.js";
import { trainModel } from "../../src/learn/train.js";
import { modelPath } from "../learn/fixture-frame.js";
import { keelInProcess } from "./helpers.js";

const keel = (args: string[], cwd: string) => keelInProcess(args, { cwd });
const EXPLAIN_DIR = new URL("../fixtures/explain/", import.meta.url);

interface ContribFixture {
  features: string[];
  columns: Record<string, (number | null)[]>;
  contribs: number[][];
}

/** The fixture's rows as a CSV with a leading loan_id column. */
function writeRows(file: string, fx: ContribFixture): void {
  const rows = fx.contribs.map((_, i) =>
    [`L${1000 + i}`, ...fx.features.map((n) => String(fx.columns[n]?.[i] ?? ""))].join(","),
  );
  writeFileSync(file, [["loan_id", ...fx.features].join(","), ...rows].join("\n") + "\n");
}

describe("keel explain", () => {
  const fx = JSON.parse(readFileSync(new URL("xgb_loans.json.contribs.json", EXPLAIN_DIR), "utf8")) as ContribFixture;
  const model = new URL("xgb_loans.json", EXPLAIN_DIR).pathname;

  it("writes id + one column per feature + bias, as XGBoost's pred_contribs, in chunks", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-explain-"));
    writeRows(join(cwd, "loans.csv"), fx);
    const r = await keel(
      [
        "--json",
        "explain",
        "--model",
        model,
        "--input",
        "loans.csv",
        "--output",
        "contribs.parquet",
        "--chunk-size",
        "128",
      ],
      cwd,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      rows: 300,
      chunks: 3,
      idColumn: "loan_id",
      model: { format: "xgboost" },
    });
    const out = await readTable(join(cwd, "contribs.parquet"));
    expect(out.columns.map((c) => c.name)).toEqual(["loan_id", ...fx.features, "bias"]);
    let worst = 0;
    fx.contribs.forEach((row, i) =>
      row.forEach((v, j) => {
        const col = out.columns[j + 1];
        if (col?.kind !== "numeric") throw new Error(`column ${j + 1} is not numeric`);
        worst = Math.max(worst, Math.abs((col.values[i] as number) - v));
      }),
    );
    expect(worst).toBeLessThan(1e-5);
  });

  it("--summary prints mean |SHAP| per feature, most important first", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-explain-"));
    writeRows(join(cwd, "loans.csv"), fx);
    const r = await keel(["--json", "explain", "--model", model, "--input", "loans.csv", "--summary"], cwd);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { importance: { feature: string; meanAbsShap: number }[]; output: null };
    expect(j.output).toBeNull();
    const expected = fx.features
      .map((feature, k) => ({ feature, mean: fx.contribs.reduce((s, row) => s + Math.abs(row[k] ?? 0), 0) / 300 }))
      .sort((a, b) => b.mean - a.mean);
    expect(j.importance.map((f) => f.feature).slice(0, 3)).toEqual(expected.map((f) => f.feature).slice(0, 3));
    j.importance.forEach((f) => {
      const e = expected.find((x) => x.feature === f.feature);
      expect(Math.abs(f.meanAbsShap - (e?.mean ?? NaN))).toBeLessThan(1e-5);
    });
    const human = await keel(["explain", "--model", model, "--input", "loans.csv", "--summary"], cwd);
    expect(human.stdout).toMatch(/^feature\s+mean \|SHAP\|$/m);
    expect(human.stdout).toContain(`explained 300 rows with a xgboost binary model`);
  });

  it("explains a keel GBDT trained on the loans data: each row sums to its log-odds, categorical inputs included", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-explain-"));
    const input = new URL("../fixtures/data/lending_club.csv", import.meta.url).pathname;
    const loans = await readTable(input);
    const { model: m } = await trainModel(loans, { target: "Class", params: { n_estimators: 20, max_depth: 3 } });
    if (m.model_type !== "gbdt") throw new Error("expected gbdt");
    writeFileSync(join(cwd, "m.json"), serializeKeelModel(m));
    const r = await keel(["--json", "explain", "--model", "m.json", "--input", input, "--output", "c.csv"], cwd);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = await readTable(join(cwd, "c.csv"));
    expect(out.columns.map((c) => c.name)).toEqual([...m.features.map((f) => f.name), "bias"]);
    const p = await new KeelPredictor(m).predict(loans);
    let worst = 0;
    for (let i = 0; i < loans.nRows; i++) {
      let s = 0;
      for (const c of out.columns) if (c.kind === "numeric") s += c.values[i] as number;
      worst = Math.max(worst, Math.abs(s - Math.log((p[i] as number) / (1 - (p[i] as number)))));
    }
    // CSV keeps the shortest round-trip digits, so the sum is exact up to float64 addition.
    expect(worst).toBeLessThan(1e-9);
  });

  it("rejects bad input with exit 2 and one line naming the flag or field", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-explain-"));
    writeRows(join(cwd, "loans.csv"), fx);
    const noOutput = await keel(["explain", "--model", model, "--input", "loans.csv"], cwd);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr.trim()).toBe("error: --output = (absent): required unless --summary is given");
    const onnx = await keel(
      ["explain", "--model", modelPath("onnx_logreg.onnx"), "--input", "loans.csv", "--summary"],
      cwd,
    );
    expect(onnx.code).toBe(2);
    expect(onnx.stderr).toMatch(/ONNX model cannot be explained exactly/);
    const badExt = await keel(["explain", "--model", model, "--input", "loans.csv", "--output", "c.txt"], cwd);
    expect(badExt.code).toBe(2);
    // A keel model saved before covers were recorded.
    const loans = await readTable("test/fixtures/data/lending_club.csv");
    const { model: m } = await trainModel(loans, { target: "Class", params: { n_estimators: 3, max_depth: 2 } });
    const old = JSON.parse(serializeKeelModel(m)) as { ensemble: { cover?: number[] } };
    delete old.ensemble.cover;
    writeFileSync(join(cwd, "old.json"), JSON.stringify(parseKeelModel(old)));
    const noCover = await keel(["explain", "--model", "old.json", "--input", "loans.csv", "--summary"], cwd);
    expect(noCover.code).toBe(2);
    expect(noCover.stderr.trim().split("\n")).toHaveLength(1);
    expect(noCover.stderr).toMatch(/cover = \(absent\)/);
  });
});
