/** The behaviour step: the definition's behaviour tests run against the trained model on the validation rows. */
import { KeelPredictor } from "../../learn/index.js";
import { runBehaviourTests, type BehaviourResult } from "../behaviour.js";
import { bytesJson, jsonBytes } from "../cache.js";
import { logArtifact, logMetrics, type PipelineContext } from "../context.js";
import { cachedFile, runCachedStep } from "../step-cache.js";
import type { ValidationRows } from "./evaluate.js";
import type { SplitRows } from "./split.js";
import type { TrainedModel } from "./train.js";

export interface BehaviourOutcome {
  readonly passed: boolean;
  readonly results: BehaviourResult[];
}

export async function behaviourStep(
  ctx: PipelineContext,
  trained: TrainedModel,
  split: SplitRows,
  valid: ValidationRows,
): Promise<BehaviourOutcome> {
  const { def } = ctx;
  return runCachedStep(ctx, {
    step: "behaviour",
    inputs: {
      model: trained.modelHash,
      data: ctx.lineage.dataHash,
      split: split.hash,
      tests: def.behaviourTests,
      seed: def.behaviourSeed,
    },
    codec: {
      files: ["results.json"],
      encode: (results: BehaviourResult[]) => new Map([["results.json", jsonBytes(results)]]),
      decode: (files) => bytesJson(cachedFile(files, "results.json")) as BehaviourResult[],
    },
    compute: async () => {
      const predictor = new KeelPredictor(trained.model);
      try {
        const run = await runBehaviourTests(def.behaviourTests, (f) => predictor.predict(f), valid.frame, {
          seed: def.behaviourSeed,
        });
        return run.results;
      } finally {
        await predictor.close();
      }
    },
    report: async (results, child) => {
      await logArtifact(ctx, child.artifactUri, "behaviour.json", jsonBytes(results));
      await logMetrics(ctx, child.runId, {
        behaviour_tests: results.length,
        behaviour_failures: results.filter((r) => !r.passed).length,
      });
      const passed = results.every((r) => r.passed);
      return {
        value: { passed, results },
        status: passed ? "passed" : "failed",
        message: passed
          ? `${results.length} of ${results.length} behaviour tests passed`
          : results
              .filter((r) => !r.passed)
              .map((r) => r.message)
              .join("; "),
      };
    },
  });
}
