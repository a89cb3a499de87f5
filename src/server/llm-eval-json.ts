import type { CalibrationResult, Dataset, DatasetVersion, EvalComparison, EvalRunResult } from "../llm/index.js";
import type {
  EvalDatasetJson,
  EvalDatasetVersionJson,
  EvalComparisonJson,
  EvalRunJson,
  JudgeCalibrationJson,
} from "../wire/index.js";

export function datasetJson(d: Dataset): EvalDatasetJson {
  return { name: d.name, creation_timestamp: d.creationTimestamp, aliases: d.aliases.map((a) => ({ ...a })) };
}

export function datasetVersionJson(v: DatasetVersion): EvalDatasetVersionJson {
  return {
    name: v.name,
    version: v.version,
    digest: v.digest,
    example_count: v.exampleCount,
    description: v.description,
    aliases: [...v.aliases],
    creation_timestamp: v.creationTimestamp,
    user_id: v.userId,
  };
}

export function evalRunJson(r: EvalRunResult): EvalRunJson {
  return {
    run_id: r.runId,
    experiment_id: r.experimentId,
    prompt: { name: r.prompt.name, version: r.prompt.version },
    dataset: { name: r.dataset.name, version: r.dataset.version, digest: r.dataset.digest },
    metrics: { ...r.metrics },
    examples: r.examples.map((e) => ({ ...e, inputs: { ...e.inputs }, scores: { ...e.scores } })),
  };
}

export function evalComparisonJson(c: EvalComparison): EvalComparisonJson {
  return {
    run_a: c.runA,
    run_b: c.runB,
    dataset: c.dataset,
    evaluators: c.evaluators.map((e) => ({
      evaluator: e.evaluator,
      n: e.n,
      mean_a: e.meanA,
      mean_b: e.meanB,
      mean_difference: e.meanDifference,
      pass_rate_a: e.passRateA,
      pass_rate_b: e.passRateB,
      b_only_passed: e.bOnlyPassed,
      a_only_passed: e.aOnlyPassed,
      sign_test: { p_value: e.signTest.pValue },
      mcnemar: { statistic: e.mcnemar.statistic, p_value: e.mcnemar.pValue },
      wilcoxon: { statistic: e.wilcoxon.statistic, p_value: e.wilcoxon.pValue, method: e.wilcoxon.method },
      paired_t:
        e.pairedT === null ? null : { statistic: e.pairedT.statistic, p_value: e.pairedT.pValue, df: e.pairedT.df },
      differences: e.differences.map((d) => ({ ...d })),
    })),
  };
}

export function calibrationJson(c: CalibrationResult): JudgeCalibrationJson {
  return {
    judge: c.judge,
    dataset: c.dataset,
    n: c.n,
    errors: c.errors,
    agreement: c.agreement,
    kappa: Number.isNaN(c.kappa) ? null : c.kappa,
    passed: c.passed,
    examples: c.examples.map((e) => ({ ...e })),
  };
}
