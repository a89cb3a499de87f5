import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readTable, type Column } from "../../src/data/index.js";
import { TRAINING_DATA_TAGS, runPipeline, type PipelineDefinitionInput } from "../../src/pipeline/index.js";
import type { InferenceRecord } from "../../src/store/index.js";
import type { MakeStores, TestStores } from "../store/backends.js";
import { rejected } from "../keel-error.js";
import { pipelineRunner } from "../../src/cli/retraining.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1, 12);
const BASE_ROWS = 300;
const PURPOSES = ["car", "home", "education"];

/** A small loan table: a higher credit score and income make a default less likely. */
function writeBaseData(dir: string): string {
  const lines = ["applicant_id,credit_score,income,purpose,default"];
  let s = 7;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < BASE_ROWS; i++) {
    const score = 500 + Math.floor(rand() * 300);
    const income = 20000 + Math.floor(rand() * 80000);
    const p = (800 - score) / 300 + (100000 - income) / 200000 + rand() * 0.6;
    lines.push(`a${i},${score},${income},${PURPOSES[i % 3]},${p > 1 ? 1 : 0}`);
  }
  const file = path.join(dir, "loans.csv");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

function definition(extra: Partial<PipelineDefinitionInput> = {}): PipelineDefinitionInput {
  return {
    name: "loans-reviewed",
    data: "loans.csv",
    target: "default",
    idColumn: "applicant_id",
    train: { model: "gbdt", params: { n_estimators: 10, max_depth: 2 } },
    gates: [],
    register: { model: "loans-reviewed" },
    ...extra,
  };
}

/** The inputs a caller sent for decision i: income as text (converted for scoring) on odd rows. */
function sent(i: number) {
  const received = {
    applicant_id: `d${i}`,
    credit_score: 520 + 17 * i,
    income: 30000 + 1000 * i,
    purpose: PURPOSES[i % 3]!,
  };
  return i % 2 === 1
    ? { features: { ...received, income: String(received.income) }, scored: received }
    : { features: received, scored: undefined };
}

function decision(i: number, time: number, model = "loans"): InferenceRecord {
  const s = sent(i);
  const score = (i % 5) / 5 + 0.05;
  return {
    requestId: `req-${i}`,
    time,
    endpoint: "loans",
    modelName: model,
    modelVersion: "1",
    route: "champion",
    features: s.features,
    ...(s.scored === undefined ? {} : { scored: s.scored }),
    outputs: { score, decision: score >= 0.5 ? "decline" : "approve" },
    latencyMs: 1,
    threshold: 0.5,
  };
}

const valueAt = (c: Column, row: number): string | number | null => {
  if (c.valid !== undefined && c.valid[row] === 0) return null;
  return c.kind === "numeric" ? (c.values[row] as number) : (c.dictionary[c.codes[row] as number] as string);
};

/** Reviewed decisions joining a pipeline's training data, run against every backend. */
export function runReviewedDecisionsSuite(name: string, make: MakeStores): void {
  describe(`reviewed decisions in the next training set on ${name}`, () => {
    let t: TestStores | undefined;
    const dir = mkdtempSync(path.join(tmpdir(), "keel-reviewed-decisions-"));
    afterAll(async () => {
      await t?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("appends one row per reviewed decision with the recorded inputs and the reviewer's label", async () => {
      t = await make({ clock: () => NOW });
      const { stores } = t;
      const baseFile = writeBaseData(dir);
      // 12 decisions in the last 30 days, 1 older; 8 recent ones reviewed, 1 old one reviewed too.
      const times = Array.from({ length: 12 }, (_, i) => NOW - (i + 1) * DAY);
      await stores.servingInferenceLog.append(
        [...times.map((tm, i) => decision(i, tm)), decision(12, NOW - 60 * DAY)],
        {
          durability: "sync",
        },
      );
      // A decision of another model, reviewed: not this pipeline's.
      await stores.servingInferenceLog.append([{ ...decision(13, NOW - DAY, "other"), requestId: "req-other" }], {
        durability: "sync",
      });
      const reviewed = [0, 1, 2, 3, 4, 6, 8, 9, 12];
      const verdicts = new Map<string, string>();
      await stores.reviews.enqueue(
        [...reviewed.map((i) => `req-${i}`), "req-other"].map((requestId, k) => ({
          endpoint: "loans",
          requestId,
          modelName: requestId === "req-other" ? "other" : "loans",
          modelVersion: "1",
          route: "champion",
          score: 0.5,
          modelDecision: k % 2 === 0 ? "approve" : "decline",
          interimDecision: "refer",
          positiveDecision: "decline",
          negativeDecision: "approve",
          reasons: [],
          inputs: {},
        })),
        NOW - DAY,
      );
      for (const [k, i] of [...reviewed.map((i, k) => [k, i] as const), [9, -1] as const]) {
        const requestId = i < 0 ? "req-other" : `req-${i}`;
        // Every third verdict overrides the model's decision.
        const model = k % 2 === 0 ? "approve" : "decline";
        const verdict = k % 3 === 0 ? (model === "approve" ? "decline" : "approve") : model;
        verdicts.set(requestId, verdict);
        await stores.reviews.decide("loans", requestId, "ana", { decision: verdict, reason: "checked" });
      }
      // A label from another source on an unreviewed decision: not counted by default.
      await stores.labels.put([{ requestId: "req-5", label: 1, source: "api" }], { actor: "ops" });

      const deps = {
        tracking: stores.tracking,
        registry: stores.registry,
        artifacts: stores.artifacts,
        decisions: stores.decisions,
        clock: () => NOW,
      };
      const recent = reviewed.filter((i) => i !== 12);
      const run = await runPipeline(definition({ reviewedDecisions: { model: "loans", since: "30d" } }), deps, {
        baseDir: dir,
      });
      expect(run.failure ?? "").toBe("");
      expect(run.split!.trainRows + run.split!.validRows).toBe(BASE_ROWS + recent.length);
      expect(run.lineage.reviewedDecisions).toEqual({
        model: "loans",
        rows: recent.length,
        from: NOW - 30 * DAY,
        to: NOW,
        sources: ["review"],
      });

      const mv = await stores.registry.getModelVersion("loans-reviewed", run.registered!.version);
      const tag = (key: string) => mv.tags.find((x) => x.key === key)?.value;
      expect(tag("keel.reviewed_decisions.rows")).toBe(String(recent.length));
      expect(tag("keel.reviewed_decisions.from")).toBe(new Date(NOW - 30 * DAY).toISOString());
      const runTags = (await stores.tracking.getRun(run.runId)).data.tags;
      expect(runTags.find((x) => x.key === "keel.reviewed_decisions.rows")?.value).toBe(String(recent.length));

      // The bytes kept with the version: the base rows, then the reviewed decisions in served order.
      const bytes = await stores.artifacts.getFile(tag(TRAINING_DATA_TAGS.path)!);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(mv.lineage?.dataHash);
      const kept = path.join(dir, "kept.csv");
      writeFileSync(kept, bytes);
      const table = await readTable(kept);
      const base = await readTable(baseFile);
      expect(table.nRows).toBe(BASE_ROWS + recent.length);
      const col = (name: string) => table.columns.find((c) => c.name === name)!;
      for (let r = 0; r < BASE_ROWS; r++) {
        for (const c of base.columns) expect(valueAt(col(c.name), r)).toEqual(valueAt(c, r));
      }
      // Served order is chain order: decisions 0..11 were appended in that order.
      recent.forEach((i, k) => {
        const row = BASE_ROWS + k;
        const inputs = sent(i).scored ?? sent(i).features;
        expect(valueAt(col("applicant_id"), row)).toBe(inputs.applicant_id);
        expect(valueAt(col("credit_score"), row)).toBe(inputs.credit_score);
        // Scored income is the number even where the caller sent text.
        expect(valueAt(col("income"), row)).toBe(inputs.income);
        expect(valueAt(col("purpose"), row)).toBe(inputs.purpose);
        expect(valueAt(col("default"), row)).toBe(verdicts.get(`req-${i}`) === "decline" ? 1 : 0);
      });
      // Some verdicts overrode the model; their labels are the reviewers', not the model's.
      const overridden = (await stores.decisions.search({ reviewed: true, modelName: "loans", limit: 100 })).filter(
        (d) => d.review?.overridden === true,
      );
      expect(overridden.length).toBeGreaterThan(0);

      // Without the option: the file's rows and bytes, unchanged.
      const plain = await runPipeline(definition(), deps, { baseDir: dir });
      expect(plain.split!.trainRows + plain.split!.validRows).toBe(BASE_ROWS);
      expect(plain.lineage.dataHash).toBe(createHash("sha256").update(readFileSync(baseFile)).digest("hex"));
      expect(plain.lineage.reviewedDecisions).toBeUndefined();

      // With the api source too, the labelled decision req-5 joins.
      const both = await runPipeline(
        definition({ reviewedDecisions: { model: "loans", since: "30d", sources: ["review", "api"] } }),
        deps,
        { baseDir: dir },
      );
      expect(both.lineage.reviewedDecisions?.rows).toBe(recent.length + 1);

      // The retraining policy's runner (keel's wiring, on the wall clock): every reviewed decision, old ones too.
      const file = path.join(dir, "retrain.json");
      writeFileSync(file, JSON.stringify(definition({ reviewedDecisions: { model: "loans" } })));
      const retrained = await pipelineRunner(stores)(file, { "keel.retrain.trigger": "schedule" });
      expect(retrained.failure ?? "").toBe("");
      const retrainTags = (await stores.tracking.getRun(retrained.runId)).data.tags;
      expect(retrainTags.find((x) => x.key === "keel.reviewed_decisions.rows")?.value).toBe(String(reviewed.length));
    });

    it("refuses a bad option, and a recorded input of the wrong type, naming field, value and rule", async () => {
      const { stores } = t!;
      const deps = {
        tracking: stores.tracking,
        registry: stores.registry,
        artifacts: stores.artifacts,
        decisions: stores.decisions,
        clock: () => NOW,
      };
      expect(
        (
          await rejected(
            runPipeline(definition({ reviewedDecisions: { model: "loans", since: "soon" } }), deps, { baseDir: dir }),
          )
        ).message,
      ).toMatch(/^reviewedDecisions\.since = "soon": must be a number of days or months/);
      expect(
        (
          await rejected(
            runPipeline(definition({ reviewedDecisions: { model: "loans", sources: [] } }), deps, { baseDir: dir }),
          )
        ).message,
      ).toMatch(/^reviewedDecisions\.sources = \[\]: must name at least one label source/);
      await stores.servingInferenceLog.append(
        [{ ...decision(20, NOW - DAY, "typed"), requestId: "req-typed", features: { credit_score: "high" } }],
        { durability: "sync" },
      );
      await stores.labels.put([{ requestId: "req-typed", label: 0, source: "review" }], { actor: "ana" });
      expect(
        (await rejected(runPipeline(definition({ reviewedDecisions: { model: "typed" } }), deps, { baseDir: dir })))
          .message,
      ).toMatch(/^reviewedDecisions\[req-typed\]\.credit_score = "high": must be a number/);
    });
  });
}
