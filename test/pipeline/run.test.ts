import { versionDecision } from "../../src/registry/index.js";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/frame.js";
import { categoricalFromStrings, numericColumn, readTable, writeTable } from "../../src/data/io.js";
import { generateLoanApplications } from "../../src/data/loan-applications.js";
import { loadReferenceProfile, REFERENCE_PROFILE_TAG } from "../../src/monitoring/index.js";
import { openStores, type Stores } from "../../src/open-stores.js";
import {
  canonicalHash,
  canonicalJson,
  parsePipelineDefinition,
  runPipeline,
  runPipelineFile,
  type PipelineDefinitionInput,
} from "../../src/pipeline/index.js";
import { proposeSuite } from "../../src/validate/index.js";
import { withOverrides, type Overrides } from "../overrides.js";

const ROWS = 5000;
let dir: string;
let stores: Stores;
let frame: Frame;
let dataFile: string;
let suite: unknown;

/** Small, fast trees: these tests check the runner, not the learner. */
const PARAMS = { n_estimators: 60, max_depth: 3, learning_rate: 0.2, seed: 3 };

function definition(overrides: Overrides<PipelineDefinitionInput> = {}): PipelineDefinitionInput {
  return withOverrides(
    {
      name: "loans",
      data: "loans.csv",
      target: "default",
      idColumn: "applicant_id",
      validate: { suite: "suite.json" },
      split: { kind: "random", validFraction: 0.25, seed: 1, stratify: true },
      train: { model: "gbdt", params: PARAMS },
      evaluate: { threshold: 0.1 },
      gates: [{ gate: "auc", min: 0.82 }, { gate: "ks", min: 0.3 }, { gate: "auc_vs_champion" }],
      register: { model: "loans" },
    },
    overrides,
  );
}

function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "keel-pipeline-"));
  stores = openStores({
    backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
    artifactRoot: path.join(dir, "art"),
  });
  await stores.migrate();
  frame = generateLoanApplications({ rows: ROWS, seed: 11, driftMonths: 0 });
  dataFile = path.join(dir, "loans.csv");
  await writeTable(frame, dataFile);
  // The suite is proposed from the data as written, so it describes exactly what the pipeline reads.
  suite = proposeSuite(await readTable(dataFile));
  writeFileSync(path.join(dir, "suite.json"), JSON.stringify(suite));
});

afterAll(async () => {
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

async function childRuns(experimentId: string, parentRunId: string) {
  const page = await stores.tracking.searchRuns({
    experimentIds: [experimentId],
    filter: `tags.mlflow.parentRunId = '${parentRunId}'`,
    maxResults: 1000,
  });
  return page.items;
}

function tag(run: { data: { tags: readonly { key: string; value: string }[] } }, key: string): string | undefined {
  return run.data.tags.find((t) => t.key === key)?.value;
}

describe("runPipeline", () => {
  it("passes, registers a challenger whose lineage leads to the exact data and config, with a child run per step", async () => {
    const def = definition();
    const result = await runPipeline(def, stores, {
      baseDir: dir,
      codeVersion: "0123456789abcdef0123456789abcdef01234567",
    });
    expect(result.status).toBe("passed");
    expect(result.failedStep).toBeUndefined();
    expect(result.metrics?.auc).toBeGreaterThan(0.82);
    expect(result.gates?.find((g) => g.gate === "auc_vs_champion")?.skipped).toBe(true);

    const registered = result.registered;
    expect(registered).toBeDefined();
    const mv = await stores.registry.getModelVersion("loans", registered?.version ?? "");
    expect(mv.aliases).toContain("challenger");
    expect(mv.runId).toBe(result.runId);
    // the threshold the gates certified travels with the version
    expect(versionDecision(mv)).toEqual({ threshold: 0.1 });
    // The data hash is the sha256 of the file's bytes, computed here independently.
    expect(mv.lineage?.dataHash).toBe(sha256File(dataFile));
    // The config hash is the hash of the resolved definition, with the suite file's content inlined.
    const resolved = { ...parsePipelineDefinition(def), validate: { suite } };
    expect(mv.lineage?.configHash).toBe(createHash("sha256").update(canonicalJson(resolved)).digest("hex"));
    expect(mv.lineage?.codeVersion).toBe("0123456789abcdef0123456789abcdef01234567");
    expect(mv.lineage?.sourceRunId).toBe(result.runId);
    // The registered bytes are the model the run logged, and the checksum names them.
    const bytes = await stores.artifacts.getBlob(mv.checksum ?? "");
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(mv.checksum);
    expect(mv.signature?.inputs.map((c) => c.name)).not.toContain("default");

    const run = await stores.tracking.getRun(result.runId);
    expect(run.info.status).toBe("FINISHED");
    expect(tag(run, "keel.data_sha256")).toBe(mv.lineage?.dataHash);
    expect(tag(run, "keel.config_sha256")).toBe(mv.lineage?.configHash);
    expect(tag(run, "mlflow.source.git.commit")).toBe(mv.lineage?.codeVersion);
    expect(run.inputs.datasetInputs[0]?.dataset.source).toBe(dataFile);

    const children = await childRuns(result.experimentId, result.runId);
    expect(children.map((c) => tag(c, "keel.step")).sort()).toEqual([
      "evaluate",
      "gates",
      "register",
      "split",
      "train",
      "validate",
    ]);
    for (const c of children) expect(c.info.status).toBe("FINISHED");
    const evaluate = children.find((c) => tag(c, "keel.step") === "evaluate");
    expect(evaluate?.data.metrics.find((m) => m.key === "auc")?.value).toBeCloseTo(result.metrics?.auc ?? 0, 12);
  });

  it("saves the new version's reference profile, which monitoring loads, before telling onRegistered", async () => {
    let rowsSeenByHook: number | undefined;
    const result = await runPipeline(definition({ register: { model: "profiled" } }), stores, {
      baseDir: dir,
      onRegistered: async ({ name, version }) => {
        rowsSeenByHook = (await loadReferenceProfile(stores, name, version)).rows;
      },
    });
    expect(result.status).toBe("passed");
    const version = result.registered?.version ?? "";
    const mv = await stores.registry.getModelVersion("profiled", version);
    expect(mv.tags.map((t) => t.key)).toContain(REFERENCE_PROFILE_TAG);

    const profile = await loadReferenceProfile(stores, "profiled", version);
    // The model's inputs over the training rows, and the model's scores on those rows.
    expect(profile.features.map((f) => f.name)).toEqual(mv.signature?.inputs.map((c) => c.name));
    expect(profile.rows).toBe(result.split?.trainRows);
    expect(profile.prediction?.count).toBe(result.split?.trainRows);
    expect(profile.prediction?.min).toBeGreaterThanOrEqual(0);
    expect(profile.prediction?.max).toBeLessThanOrEqual(1);
    expect(rowsSeenByHook).toBe(result.split?.trainRows);
  });

  it("fails validation on a corrupted batch and registers nothing", async () => {
    const bad = path.join(dir, "corrupted.csv");
    const loanAmount = Float64Array.from(
      (frame.columns.find((c) => c.name === "loan_amount") as { values: Float64Array }).values,
    );
    const credit = Float64Array.from(
      (frame.columns.find((c) => c.name === "credit_score") as { values: Float64Array }).values,
    );
    for (let i = 0; i < 50; i++) loanAmount[i * 7] = NaN;
    for (let i = 0; i < 20; i++) credit[i * 11 + 3] = 9999;
    const corrupted: Frame = {
      nRows: frame.nRows,
      columns: frame.columns.map((c) =>
        c.name === "loan_amount"
          ? numericColumn("loan_amount", loanAmount)
          : c.name === "credit_score"
            ? numericColumn("credit_score", credit)
            : c,
      ),
    };
    await writeTable(corrupted, bad);
    const result = await runPipeline(
      definition({ data: "corrupted.csv", register: { model: "loans-corrupted" } }),
      stores,
      {
        baseDir: dir,
      },
    );
    expect(result.status).toBe("failed");
    expect(result.failedStep).toBe("validate");
    expect(result.failure).toMatch(/loan_amount/);
    expect(result.failure).toMatch(/credit_score/);
    expect(result.failure).toMatch(/9999/);
    expect(result.registered).toBeUndefined();
    await expect(stores.registry.getRegisteredModel("loans-corrupted")).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
    expect((await stores.tracking.getRun(result.runId)).info.status).toBe("FAILED");
    // Nothing after validation ran.
    expect((await childRuns(result.experimentId, result.runId)).map((c) => tag(c, "keel.step"))).toEqual(["validate"]);
  });

  it("fails the AUC gate with a readable message when the strongest feature is left out", async () => {
    const result = await runPipeline(
      definition({ exclude: ["credit_score"], register: { model: "loans-no-credit" } }),
      stores,
      { baseDir: dir },
    );
    expect(result.status).toBe("failed");
    expect(result.failedStep).toBe("gates");
    const auc = result.gates?.find((g) => g.gate === "auc");
    expect(auc?.passed).toBe(false);
    expect(auc?.observed).toBeLessThan(0.82);
    expect(auc?.observed).toBeCloseTo(result.metrics?.auc ?? 0, 12);
    expect(result.failure).toMatch(/^gate auc failed: validation AUC 0\.\d{4} is not > 0\.82/);
    await expect(stores.registry.getRegisteredModel("loans-no-credit")).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
    const children = await childRuns(result.experimentId, result.runId);
    expect(children.find((c) => tag(c, "keel.step") === "gates")?.info.status).toBe("FAILED");
    expect(children.some((c) => tag(c, "keel.step") === "register")).toBe(false);
  });

  it("reuses cached steps when data and config are unchanged, and only recomputes what a change touches", async () => {
    // A split seed no other test uses: only validation (same data, same suite) can come from the cache.
    const split = { kind: "random", validFraction: 0.25, seed: 9, stratify: true } as const;
    const def = definition({ register: { model: "loans-cache" }, split });
    const cached = (r: { steps: readonly { step: string; cached: boolean }[] }) =>
      r.steps.filter((s) => s.cached).map((s) => s.step);
    const first = await runPipeline(def, stores, { baseDir: dir });
    const second = await runPipeline(def, stores, { baseDir: dir });
    expect(cached(first)).toEqual(["validate"]);
    expect(cached(second)).toEqual(["validate", "split", "train", "evaluate"]);
    expect(second.registered?.checksum).toBe(first.registered?.checksum);
    expect(second.metrics).toEqual(first.metrics);
    const trainRun = await stores.tracking.getRun(second.steps.find((s) => s.step === "train")?.runId ?? "");
    expect(tag(trainRun, "keel.cached")).toBe("true");
    expect(tag(await stores.tracking.getRun(second.runId), "keel.cached_steps")).toBe("validate,split,train,evaluate");

    // A new learning rate retrains (and re-evaluates) but validates and splits from the cache.
    const third = await runPipeline(
      definition({
        register: { model: "loans-cache" },
        split,
        train: { model: "gbdt", params: { ...PARAMS, learning_rate: 0.15 } },
      }),
      stores,
      { baseDir: dir },
    );
    expect(cached(third)).toEqual(["validate", "split"]);
    expect(third.registered?.checksum).not.toBe(first.registered?.checksum);
    expect(third.lineage.configHash).not.toBe(first.lineage.configHash);
    expect(third.lineage.dataHash).toBe(first.lineage.dataHash);

    // cache: false recomputes everything and gets the same model (training is deterministic).
    const fresh = await runPipeline(def, stores, { baseDir: dir, cache: false });
    expect(fresh.steps.filter((s) => s.cached)).toEqual([]);
    expect(fresh.registered?.checksum).toBe(first.registered?.checksum);
  });

  it("splits by time with every training row strictly before every validation row", async () => {
    // Application dates in shuffled row order, so row position says nothing about time.
    const days = Int32Array.from({ length: ROWS }, (_, i) => Math.floor((i * 180) / ROWS));
    let s = 12345;
    for (let i = ROWS - 1; i > 0; i--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (i + 1);
      const t = days[i] as number;
      days[i] = days[j] as number;
      days[j] = t;
    }
    const dates = Array.from(days, (d) => new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10));
    const dated: Frame = {
      nRows: frame.nRows,
      columns: [...frame.columns, categoricalFromStrings("applied_on", dates)],
    };
    await writeTable(dated, path.join(dir, "dated.csv"));
    const result = await runPipeline(
      definition({
        data: "dated.csv",
        validate: undefined,
        split: { kind: "time", column: "applied_on", cutoff: "2024-05-01" },
        register: { model: "loans-time" },
      }),
      stores,
      { baseDir: dir },
    );
    const expectedValid = dates.filter((d) => d >= "2024-05-01").length;
    expect(result.split).toEqual({ trainRows: ROWS - expectedValid, validRows: expectedValid });
    const splitRun = await stores.tracking.getRun(result.steps.find((st) => st.step === "split")?.runId ?? "");
    const m = (k: string) => splitRun.data.metrics.find((x) => x.key === k)?.value;
    expect(m("train_time_max")).toBe(Date.UTC(2024, 3, 30));
    expect(m("valid_time_min")).toBe(Date.UTC(2024, 4, 1));
    // The date is the split's key, not a feature.
    const mv = await stores.registry.getModelVersion("loans-time", result.registered?.version ?? "");
    expect(mv.signature?.inputs.map((c) => c.name)).not.toContain("applied_on");

    // A validFraction time split holds out the latest share: here the last 20% of rows by date.
    const byFraction = await runPipeline(
      definition({
        data: "dated.csv",
        validate: undefined,
        split: { kind: "time", column: "applied_on", validFraction: 0.2 },
        register: { model: "loans-time" },
      }),
      stores,
      { baseDir: dir },
    );
    const sorted = [...dates].sort();
    const boundary = sorted[ROWS - Math.round(ROWS * 0.2)] as string;
    expect(byFraction.split?.validRows).toBe(dates.filter((d) => d >= boundary).length);
  });

  it("records tuning trials as child runs of the train step and the best trial's parameters on the parent", async () => {
    const result = await runPipeline(
      definition({
        register: { model: "loans-tuned" },
        train: {
          model: "gbdt",
          params: { n_estimators: 30, seed: 3 },
          tuning: { space: { max_depth: { type: "int", low: 2, high: 4 } }, trials: 3, seed: 5 },
        },
      }),
      stores,
      { baseDir: dir },
    );
    expect(result.status).toBe("passed");
    expect(result.tuning?.trials).toBe(3);
    const trainRunId = result.steps.find((s) => s.step === "train")?.runId ?? "";
    const trials = await childRuns(result.experimentId, trainRunId);
    expect(trials).toHaveLength(3);
    const values = trials.map((t) => t.data.metrics.find((m) => m.key === "auc")?.value ?? -1);
    expect(result.tuning?.best.value).toBe(Math.max(...values));
    const parent = await stores.tracking.getRun(result.runId);
    const best = String(result.tuning?.best.params.max_depth);
    expect(parent.data.params.find((p) => p.key === "best.max_depth")?.value).toBe(best);
    expect(parent.data.params.find((p) => p.key === "param.max_depth")?.value).toBe(best);
  });

  it("compares with the champion on the same validation rows", async () => {
    const first = await runPipeline(definition({ register: { model: "loans-champ" } }), stores, { baseDir: dir });
    await stores.registry.setAlias("loans-champ", "champion", first.registered?.version ?? "");
    // The same model again: its AUC equals the champion's, a relative change of exactly 0.
    const again = await runPipeline(definition({ register: { model: "loans-champ" } }), stores, { baseDir: dir });
    const gate = again.gates?.find((g) => g.gate === "auc_vs_champion");
    expect(gate?.skipped).toBe(false);
    expect(gate?.passed).toBe(true);
    expect(gate?.observed).toBe(0);
    expect(again.registered?.version).toBe("2");
    // A much weaker challenger fails against the champion (and the absolute AUC gate is relaxed).
    const weak = await runPipeline(
      definition({
        register: { model: "loans-champ" },
        exclude: ["credit_score"],
        gates: [{ gate: "auc", min: 0.5 }, { gate: "auc_vs_champion" }],
      }),
      stores,
      { baseDir: dir },
    );
    expect(weak.status).toBe("failed");
    expect(weak.failure).toMatch(/^gate auc_vs_champion failed/);
  });

  it("reads YAML definitions and resolves paths against the file's directory", async () => {
    const yaml = [
      "name: loans-yaml",
      "data: loans.csv",
      "target: default",
      "idColumn: applicant_id",
      "validate: { suite: suite.json }",
      "split: { kind: random, validFraction: 0.25, seed: 1, stratify: true }",
      "train:",
      "  model: gbdt",
      `  params: ${JSON.stringify(PARAMS)}`,
      "evaluate: { threshold: 0.1 }",
      "gates:",
      "  - { gate: auc, min: 0.82 }",
      "register: { model: loans-yaml }",
      "",
    ].join("\n");
    writeFileSync(path.join(dir, "pipeline.yaml"), yaml);
    const result = await runPipelineFile(path.join(dir, "pipeline.yaml"), stores);
    expect(result.status).toBe("passed");
    expect(result.lineage.dataPath).toBe(dataFile);
    expect(result.lineage.configHash).toBe(
      canonicalHash({
        ...parsePipelineDefinition({
          ...definition(),
          name: "loans-yaml",
          register: { model: "loans-yaml" },
          gates: [{ gate: "auc" }],
        }),
        validate: { suite },
      }),
    );
  });

  it("reads a JavaScript module's default export as the definition", async () => {
    const def = { ...definition(), name: "loans-module", register: { model: "loans-module" } };
    writeFileSync(path.join(dir, "pipeline.mjs"), `export default ${JSON.stringify(def)};\n`);
    const result = await runPipelineFile(path.join(dir, "pipeline.mjs"), stores);
    expect(result.status).toBe("passed");
    expect(result.registered?.name).toBe("loans-module");
  });

  it("refuses a bad definition before any run starts, naming the field, the value and the rule", async () => {
    expect(() => parsePipelineDefinition({ ...definition(), trian: {} })).toThrow(/pipeline\.trian.*unknown field/);
    expect(() => parsePipelineDefinition({ ...definition(), split: { kind: "random", validFraction: 1.5 } })).toThrow(
      /split\.validFraction = 1\.5: must be/,
    );
    expect(() => parsePipelineDefinition({ ...definition(), train: { model: "forest" } })).toThrow(
      /train\.model = "forest": must be "gbdt" or "linear"/,
    );
    const before = await stores.tracking.searchRuns({ experimentIds: ["0", "1", "2", "3", "4", "5", "6", "7", "8"] });
    await expect(runPipeline(definition({ data: "missing.csv" }), stores, { baseDir: dir })).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
    const after = await stores.tracking.searchRuns({ experimentIds: ["0", "1", "2", "3", "4", "5", "6", "7", "8"] });
    expect(after.items.length).toBe(before.items.length);
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every level and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: "x" }], e: undefined })).toBe('{"a":[{"c":"x","d":2}],"b":1}');
    expect(canonicalHash({ b: 1, a: 2 })).toBe(createHash("sha256").update('{"a":2,"b":1}').digest("hex"));
  });
});
