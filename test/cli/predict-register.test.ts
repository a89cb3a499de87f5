import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readTable } from "../../src/data/index.js";
import { openStores } from "../../src/open-stores.js";
import { artifactFetcher } from "../../src/registry/version-artifact.js";
import { modelPath, readFixture } from "../learn/fixture-frame.js";
import { keelInProcess } from "./helpers.js";

/** The CLI in-process. */
const keel = (args: string[], cwd: string) => keelInProcess(args, { cwd });

describe("keel predict", () => {
  it("scores a file with a LightGBM model and writes id + score", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-predict-"));
    const fx = readFixture("lgb_binary.txt");
    const names = Object.keys(fx.columns);
    const rows = fx.expected.map((_, i) =>
      [`row-${i}`, ...names.map((n) => String(fx.columns[n]?.[i] ?? ""))].join(","),
    );
    writeFileSync(join(cwd, "in.csv"), [["loan_id", ...names].join(","), ...rows].join("\n") + "\n");
    const r = await keel(
      [
        "--json",
        "predict",
        "--model",
        modelPath("lgb_binary.txt"),
        "--input",
        "in.csv",
        "--output",
        "out.parquet",
        "--chunk-size",
        "64",
      ],
      cwd,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "completed", rows: 200, chunks: 4, idColumn: "loan_id" });
    const out = await readTable(join(cwd, "out.parquet"));
    expect(out.columns.map((c) => c.name)).toEqual(["loan_id", "score"]);
    const score = out.columns[1];
    if (score?.kind !== "numeric") throw new Error("score column is not numeric");
    fx.expected.forEach((e, i) => expect(Math.abs((score.values[i] ?? NaN) - e)).toBeLessThan(1e-6));
  });

  it("rejects a bad chunk size and an unknown model with exit code 2 / 1 and a named field", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-predict-"));
    const bad = await keel(
      ["predict", "--model", "m", "--input", "i.csv", "--output", "o.csv", "--chunk-size", "0"],
      cwd,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--chunk-size/);
    writeFileSync(join(cwd, "i.csv"), "a,b\n1,2\n");
    writeFileSync(join(cwd, "m.bin"), "not a model");
    const unknown = await keel(["predict", "--model", "m.bin", "--input", "i.csv", "--output", "o.csv"], cwd);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unrecognised model format/);
  });
});

describe("keel models register", () => {
  it("stores the file content-addressed and records checksum, signature, format and alias", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-register-"));
    const file = modelPath("onnx_logreg.onnx");
    const r = await keel(["--json", "models", "register", file, "--name", "loan-risk", "--alias", "challenger"], cwd);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { version: string; checksum: string; format: string; aliases: string[] };
    const sha = createHash("sha256").update(readFileSync(file)).digest("hex");
    expect(j).toMatchObject({ version: "1", checksum: sha, format: "onnx", aliases: ["challenger"] });
    const again = await keel(
      ["--json", "models", "register", modelPath("xgb_binary.json"), "--name", "loan-risk"],
      cwd,
    );
    expect(JSON.parse(again.stdout)).toMatchObject({ version: "2", format: "xgboost" });

    const stores = openStores({
      backendStoreUri: `sqlite:///${join(cwd, "keel-data", "keel.db")}`,
      artifactRoot: join(cwd, "keel-data", "artifacts"),
    });
    try {
      const mv = await stores.registry.getVersionByAlias("loan-risk", "challenger");
      expect(mv.version).toBe("1");
      expect(mv.checksum).toBe(sha);
      expect(mv.signature?.inputs.map((c) => c.name)).toEqual(["a", "b", "c", "d", "e"]);
      expect(mv.tags).toContainEqual({ key: "keel.model_format", value: "onnx" });
      // Serving resolves the version back to the very same bytes.
      const bytes = await artifactFetcher({ artifacts: stores.artifacts })(mv);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(sha);
    } finally {
      await stores.close();
    }
  });

  it("refuses a file that is not a model", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-register-"));
    writeFileSync(join(cwd, "notes.txt"), "hello");
    const r = await keel(["models", "register", "notes.txt", "--name", "x"], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unrecognised model format/);
  });
});

describe("keel models register DIR (an MLflow model folder)", () => {
  const folder = (name: string) => new URL(`../fixtures/mlflow/${name}`, import.meta.url).pathname;

  it("registers an XGBoost legacy-binary folder with MLmodel's signature, and a pickled folder as not servable", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-register-mlflow-"));
    const r = await keel(["--json", "models", "register", folder("xgb_legacy"), "--name", "risk"], cwd);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as {
      version: string;
      flavor: string;
      format: string;
      servable: boolean;
      checksum: string;
    };
    const sha = createHash("sha256")
      .update(readFileSync(join(folder("xgb_legacy"), "model.xgb")))
      .digest("hex");
    expect(j).toMatchObject({ version: "1", flavor: "xgboost", format: "xgboost", servable: true, checksum: sha });

    const sk = await keel(["models", "register", folder("sklearn_pickle"), "--name", "risk-sk"], cwd);
    expect(sk.code).toBe(0);
    expect(sk.stdout).toMatch(/not servable: flavor sklearn cannot be served by keel/);

    const stores = openStores({
      backendStoreUri: `sqlite:///${join(cwd, "keel-data", "keel.db")}`,
      artifactRoot: join(cwd, "keel-data", "artifacts"),
    });
    try {
      const mv = await stores.registry.getModelVersion("risk", "1");
      expect(mv.signature?.inputs.map((c) => c.name)).toEqual(["age", "income", "debt_ratio", "utilization"]);
      expect(mv.source).toMatch(/^mlflow-artifacts:\/models\/risk\/[0-9a-f]{64}$/);
      // Serving reads the stored folder back through its MLmodel to the very same model file.
      const bytes = await artifactFetcher({ artifacts: stores.artifacts })(mv);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(sha);
      const pickled = await stores.registry.getModelVersion("risk-sk", "1");
      expect(pickled.tags).toContainEqual({ key: "keel.servable", value: "false" });
      await expect(artifactFetcher({ artifacts: stores.artifacts })(pickled)).rejects.toThrow(/flavor sklearn/);
    } finally {
      await stores.close();
    }
  });

  it("keel predict scores with an MLflow folder (XGBoost legacy binary) as XGBoost does (1e-6)", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-predict-mlflow-"));
    const exp = JSON.parse(readFileSync(new URL("../fixtures/mlflow/expected.json", import.meta.url), "utf8")) as {
      columns: Record<string, (number | null)[]>;
      xgb_legacy: number[];
    };
    const names = Object.keys(exp.columns);
    const rows = exp.xgb_legacy.map((_, i) => names.map((n) => String(exp.columns[n]?.[i] ?? "")).join(","));
    writeFileSync(join(cwd, "in.csv"), [names.join(","), ...rows].join("\n") + "\n");
    const r = await keel(
      ["--json", "predict", "--model", folder("xgb_legacy"), "--input", "in.csv", "--output", "out.csv"],
      cwd,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = await readTable(join(cwd, "out.csv"));
    const score = out.columns.find((c) => c.name === "score");
    if (score?.kind !== "numeric") throw new Error("score column is not numeric");
    exp.xgb_legacy.forEach((e, i) => expect(Math.abs((score.values[i] ?? NaN) - e)).toBeLessThan(1e-6));
    const sk = await keel(
      ["predict", "--model", folder("sklearn_pickle"), "--input", "in.csv", "--output", "o2.csv"],
      cwd,
    );
    expect(sk.code).toBe(1);
    expect(sk.stderr).toMatch(/^error: .*not servable: flavor sklearn cannot be served by keel.*ONNX.*\n$/);
  });

  it("refuses a folder without an MLmodel file with exit code 2", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "keel-register-mlflow-"));
    const r = await keel(["models", "register", cwd, "--name", "x"], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no MLmodel file/);
  });
});
