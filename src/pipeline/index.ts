export type {
  PipelineDefinition,
  PipelineDefinitionInput,
  SplitSpec,
  SuiteRef,
  TrainSpec,
  TuningMetric,
  TuningSpec,
} from "./definition.js";
export {
  TUNING_METRICS,
  canonicalHash,
  canonicalJson,
  definitionFormat,
  parsePipelineDefinition,
  readPipelineDefinition,
} from "./definition.js";
export type {
  PipelineDeps,
  PipelineLineage,
  PipelineOptions,
  PipelineResult,
  RegisteredVersion,
  StepEvent,
  StepName,
  StepRecord,
  StepStatus,
} from "./types.js";
export { runPipeline, runPipelineFile } from "./run.js";
export { readTrainingSet, type TrainingSet } from "./training-set.js";
export { attachTrainingProfile } from "./steps/register.js";
export type { Split } from "./split.js";
export { rowTimes, splitRows } from "./split.js";
export { CACHE_FORMAT, stepCacheKey } from "./cache.js";
export { fileSha256, gitCommit } from "./lineage.js";
export type { GateEvidence, GateKind, GateResult, GateSpec, SegmentRate } from "./gates.js";
export {
  BINARY_METRICS,
  DEFAULT_LOAN_GATES,
  GATE_DEFAULTS,
  MIN_SEGMENT_ROWS,
  evaluateGates,
  parseGates,
} from "./gates.js";
export type { BehaviourResult, BehaviourTestSpec, CounterExample, ScoreFn } from "./behaviour.js";
export {
  DEFAULT_BEHAVIOUR_ROWS,
  DEFAULT_MAX_COUNTER_EXAMPLES,
  DEFAULT_MONOTONIC_GRID,
  parseBehaviourTests,
  runBehaviourTests,
} from "./behaviour.js";
export type { CronSchedule } from "./cron.js";
export { nextCronTime, parseCron } from "./cron.js";
export type {
  DataVolumeTrigger,
  DriftFinding,
  DriftTrigger,
  PerformanceTrigger,
  RetrainingDecision,
  RetrainingFacts,
  RetrainingPolicy,
  ScheduleTrigger,
  TriggerKind,
  TriggerResult,
} from "./retraining-policy.js";
export {
  RETRAINING_DEFAULTS,
  TRIGGER_KINDS,
  evaluateRetrainingPolicy,
  parseRetrainingPolicies,
  parseRetrainingPolicy,
} from "./retraining-policy.js";
export type {
  PolicyFile,
  RetrainingAlerts,
  RetrainingCheckOptions,
  RetrainingDeps,
  RetrainingOutcome,
  RetrainingPipelineRunner,
  RetrainingRun,
  RetrainingScheduler,
  RetrainingSchedulerOptions,
} from "./retraining.js";
export {
  RETRAIN_TAGS,
  RETRAIN_VALIDATION_ALERT,
  checkRetraining,
  gatherRetrainingFacts,
  readRetrainingPolicyFile,
  retrainAlertListener,
  startRetrainingScheduler,
} from "./retraining.js";
export type { TrainingWindow } from "./window.js";
export { windowStart } from "./window.js";
export { TRAINING_DATA_TAGS, applyTrainingDataRetention, selectWindow, trainingDataPath } from "./training-data.js";
