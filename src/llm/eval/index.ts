export {
  calibrateJudge,
  JUDGE_AGREEMENT_TAG,
  JUDGE_CALIBRATION_DATASET_TAG,
  JUDGE_CALIBRATION_TAG,
  JUDGE_KAPPA_TAG,
} from "./calibration.js";
export type { CalibrationInput, CalibrationResult } from "./calibration.js";
export { compareEvalRuns } from "./compare.js";
export type { EvalComparison, EvaluatorComparison } from "./compare.js";
export {
  checkExample,
  checkExamples,
  createDatasetVersion,
  DATASET_DIGEST_TAG,
  DATASET_EXAMPLES_TAG,
  DATASET_SOURCE,
  exampleJson,
  examplesFromCsvRows,
  examplesFromJsonl,
  examplesJsonl,
  getDataset,
  getDatasetVersion,
  IS_DATASET_TAG,
  listDatasets,
  listDatasetVersions,
  MAX_DATASET_EXAMPLES,
  readDatasetExamples,
} from "./dataset.js";
export type { Dataset, DatasetStores, DatasetVersion, EvalExample } from "./dataset.js";
export { checkEvaluatorSpec, checkEvaluatorSpecs, createEvaluator, EVALUATOR_KINDS } from "./evaluators.js";
export type { Evaluator, EvaluatorKind, EvaluatorResult, EvaluatorSpec, JudgeResolver } from "./evaluators.js";
export { checkEvalGate, EVALUATION_EVIDENCE_PREFIX, promotePromptGated, thresholdFailures } from "./gate.js";
export type { EvalGateEvidence, EvaluationEvidence } from "./gate.js";
export {
  completionText,
  gatewayChat,
  judge,
  JUDGE_VARIABLES,
  JudgeError,
  parseJudgeAnswer,
  renderRubric,
} from "./judge.js";
export type { ChatCall, JudgeExample, JudgeRubric, JudgeVerdict } from "./judge.js";
export { EVAL_EXPERIMENT, EVAL_RESULTS_ARTIFACT, EVAL_TAGS, evalMetrics, runEvaluation } from "./run-eval.js";
export type { EvalDeps, EvalRunInput, EvalRunResult, ExampleResult } from "./run-eval.js";
