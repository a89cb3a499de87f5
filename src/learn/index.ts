export type { ModelFormat, ModelTask, Predictor } from "./predictor.js";
export type { ModelKind, TrainOptions, TrainResult } from "./train.js";
export { trainModel, trainValidSplit } from "./train.js";
export type { GbdtFeature, GbdtObjective, GbdtTrainInput, GbdtTrainResult } from "./gbdt/train.js";
export { trainGbdt } from "./gbdt/train.js";
export type { GbdtParams } from "./gbdt/params.js";
export { DEFAULT_PARAMS as DEFAULT_GBDT_PARAMS, resolveParams as resolveGbdtParams } from "./gbdt/params.js";
export type { LinearModelBody, LinearParams, LinearTask, LinearTerm } from "./linear/train.js";
export { predictLinear, resolveLinearParams, trainLinear } from "./linear/train.js";
export type { BinaryEvaluation } from "./metrics.js";
export { evaluateBinary, evaluateRegression } from "./metrics.js";
export type { KeelFeature, KeelGbdtModel, KeelLinearModel, KeelModel, KeelTarget } from "./keel-model.js";
export {
  KEEL_MODEL_VERSION,
  KeelPredictor,
  loadKeelPredictor,
  parseKeelModel,
  readKeelModel,
  saveKeelModel,
  serializeKeelModel,
  isKeelModelJson,
} from "./keel-model.js";
export type { DetectedFormat, LoadPredictorOptions } from "./load-model.js";
export { detectModelFormat, loadPredictor } from "./load-model.js";
export type { LightGBMModel } from "./lightgbm-model.js";
export { loadLightGBMPredictor, parseLightGBMText } from "./lightgbm-model.js";
export type { XGBoostModel } from "./xgboost-model.js";
export { loadXGBoostPredictor, parseXGBoostJson } from "./xgboost-model.js";
export { OnnxPredictor } from "./onnx-model.js";
export type { OnnxOptions } from "./onnx-model.js";
export { EnsemblePredictor } from "./ensemble-predictor.js";
export { EnsembleScorer } from "./ensemble-scorer.js";
export type { CompiledEnsemble, Link, SplitCompare, TreeEnsemble } from "./tree-ensemble.js";
export { compileEnsemble, scoreEnsemble, validateEnsemble } from "./tree-ensemble.js";
export type { BatchScoreOptions, BatchScoreResult } from "./batch-score.js";
export { batchScore } from "./batch-score.js";
export type { ParamSpace, ParamSpec, ParamValue, Trial, TuneOptions } from "./tuning.js";
export { parseParamSpace, tune } from "./tuning.js";
export type {
  CompareModelsOptions,
  EvaluationReport,
  ModelComparison,
  ModelMetrics,
  ModelReport,
  ScoredModel,
  Segmentation,
  Verdict,
} from "./model-comparison.js";
export { compareModels, verdictOf } from "./model-comparison.js";
export type { Explainer, ExplainFileOptions, ExplainFileResult, FeatureImportance } from "./explain/index.js";
export {
  BIAS_COLUMN,
  explainFile,
  keelExplainer,
  linearShap,
  loadExplainer,
  meanAbsShap,
  rankImportance,
  TreeShap,
  treeExplainer,
} from "./explain/index.js";
export { sampleIndices } from "./random.js";
export { chooseThreshold, parseCostMatrix, parseThresholdRule } from "./threshold-choice.js";
export type { ThresholdChoice, ThresholdRule } from "./threshold-choice.js";
