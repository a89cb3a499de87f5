import { afterEach, describe, expect, it } from "vitest";
import {
  checkEvalGate,
  createDatasetVersion,
  createPromptVersion,
  EVAL_EXPERIMENT,
  EVAL_TAGS,
  EVALUATION_EVIDENCE_PREFIX,
  getDatasetVersion,
  listDatasets,
  listDatasetVersions,
  readDatasetExamples,
} from "../../../src/llm/index.js";
import { rejected } from "../../keel-error.js";
import { postgresStores, sqliteStores, type MakeStores, type TestStores } from "../../store/backends.js";

const EXAMPLES = [
  { id: "a", inputs: { question: "2+2?" }, reference: "4" },
  { id: "b", inputs: { question: "3+3?" }, reference: "6", tags: ["math"] },
];

for (const [backend, make] of [
  ["SQLite", sqliteStores],
  ["PostgreSQL", postgresStores],
] as [string, MakeStores][]) {
  describe(`evaluation datasets and the evaluation gate on ${backend}`, () => {
    let t: TestStores | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    it("stores immutable, content-hashed versions on the registry, out of model and prompt searches", async () => {
      t = await make();
      const { registry } = t.stores;
      await registry.createModelVersion({ name: "loans", source: "s3://m/1" });
      await createPromptVersion(registry, { name: "qa", template: "{{question}}", commitMessage: "p" });
      const v1 = await createDatasetVersion(t.stores, { name: "arith", examples: EXAMPLES }, { userId: "ana" });
      const v2 = await createDatasetVersion(t.stores, { name: "arith", examples: EXAMPLES.slice(0, 1) });
      expect([v1.version, v1.exampleCount, v1.userId, v2.version, v2.exampleCount]).toEqual(["1", 2, "ana", "2", 1]);
      expect(v1.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(v2.digest).not.toBe(v1.digest);

      expect((await listDatasets(registry)).items.map((d) => d.name)).toEqual(["arith"]);
      expect((await listDatasetVersions(registry, "arith")).map((v) => v.version)).toEqual(["2", "1"]);
      expect((await getDatasetVersion(registry, "arith")).version).toBe("2");
      expect(await readDatasetExamples(t.stores, await getDatasetVersion(registry, "arith", "1"))).toEqual(EXAMPLES);
      expect((await registry.searchRegisteredModels({})).items.map((m) => m.name)).toEqual(["loans"]);
      expect((await registry.searchModelVersions({})).items.map((m) => m.name)).toEqual(["loans"]);

      const taken = await rejected(createDatasetVersion(t.stores, { name: "loans", examples: EXAMPLES }));
      expect(taken.code).toBe("RESOURCE_ALREADY_EXISTS");
      const notDataset = await rejected(getDatasetVersion(registry, "loans", "1"));
      expect(notDataset.message).toBe('"loans" version 1 is not a dataset version');
    });

    it("reads the newest evaluation evidence on the version, not whatever runs the tracking store holds", async () => {
      t = await make();
      const { registry, tracking } = t.stores;
      await createPromptVersion(registry, { name: "qa", template: "{{question}}", commitMessage: "p" });
      const gate = { gate: "eval", dataset: "arith", thresholds: { "exact/pass_rate": { min: 0.9 } } };
      expect((await checkEvalGate(registry, "qa", "1", gate)).failures).toEqual([
        "no evaluation of this version on dataset arith",
      ]);
      // A run that merely carries the evaluation's tags and a good metric is no evidence.
      const exp = await tracking.createExperiment(EVAL_EXPERIMENT);
      const forged = await tracking.createRun({
        experimentId: exp,
        tags: [
          { key: EVAL_TAGS.promptName, value: "qa" },
          { key: EVAL_TAGS.promptVersion, value: "1" },
          { key: EVAL_TAGS.datasetName, value: "arith" },
        ],
      });
      await tracking.logMetric(forged.info.runId, { key: "exact/pass_rate", value: 1, step: 0, timestamp: 1 });
      expect((await checkEvalGate(registry, "qa", "1", gate)).passed).toBe(false);

      const evidence = (run: string, dataset: string, time: number, passRate: number) =>
        registry.setModelVersionTag(
          "qa",
          "1",
          EVALUATION_EVIDENCE_PREFIX + dataset,
          JSON.stringify({
            run_id: run,
            dataset,
            dataset_version: "3",
            time,
            metrics: { "exact/pass_rate": passRate },
            judges: [],
          }),
        );
      await evidence("r-old", "arith", 1000, 0.95);
      await evidence("r-new", "arith", 2000, 0.5);
      await evidence("r-other", "other", 3000, 1);
      const checked = await checkEvalGate(registry, "qa", "1", gate);
      expect(checked).toMatchObject({
        passed: false,
        runId: "r-new",
        dataset: "arith@3",
        metrics: { "exact/pass_rate": 0.5 },
      });
      expect(checked.failures).toEqual(["exact/pass_rate = 0.5 < 0.9"]);
      const anyDataset = await checkEvalGate(registry, "qa", "1", { gate: "eval", thresholds: gate.thresholds });
      expect([anyDataset.passed, anyDataset.runId]).toEqual([true, "r-other"]);
    });
  });
}
