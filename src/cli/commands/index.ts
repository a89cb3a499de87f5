import type { Command } from "commander";
import type { CliContext } from "../context.js";

/** Adds one command (or subcommands of a group) to the program. */
export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

/**
 * One top-level word of the `keel` CLI. Its module is imported only when that word is run, so
 * `keel --help` and each command load just what they use; `summary` is the line the top-level
 * help shows without importing anything (a test keeps it equal to the registered description).
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<readonly CommandRegistrar[]>;
}

/** Every top-level command of the `keel` CLI, in help order. Append your entry. */
export const commands: readonly CommandEntry[] = [
  {
    name: "server",
    summary: "run the tracking, registry, serving and monitoring server",
    load: async () => [(await import("./server.js")).serverCommand],
  },
  {
    name: "migrate",
    summary: "create or upgrade the metadata store's schema",
    load: async () => [(await import("./migrate.js")).migrateCommand],
  },
  {
    name: "experiments",
    summary: "tracking experiments",
    load: async () => [(await import("./experiments.js")).experimentsCommand],
  },
  { name: "runs", summary: "tracked runs", load: async () => [(await import("./runs.js")).runsCommand] },
  {
    name: "models",
    summary: "registered models and their versions",
    load: async () => [
      (await import("./models.js")).modelsCommand,
      (await import("./models-register.js")).modelsRegisterCommand,
      (await import("./model-card.js")).modelCardCommand,
    ],
  },
  {
    name: "promote",
    summary: "point an alias (default champion) at a model version, recording who approved it and why",
    load: async () => [(await import("./promote.js")).promoteCommand],
  },
  {
    name: "rollback",
    summary: "move an alias (default champion) back to the version it pointed at before",
    load: async () => [(await import("./promote.js")).promoteCommand],
  },
  {
    name: "audit",
    summary: "the tamper-evident audit log",
    load: async () => [(await import("./audit.js")).auditCommand],
  },
  {
    name: "tokens",
    summary: "bearer tokens for the server (auth is on with KEEL_AUTH=true)",
    load: async () => [(await import("./tokens.js")).tokensCommand],
  },
  {
    name: "users",
    summary: "users who sign in to the server with a username and password",
    load: async () => [(await import("./users.js")).usersCommand],
  },
  {
    name: "drift",
    summary: "compare a current data set with a reference, column by column",
    load: async () => [(await import("./drift.js")).driftCommand],
  },
  {
    name: "train",
    summary: "train a model (gbdt or linear) on a CSV/Parquet file and evaluate it on a held-out part",
    load: async () => [(await import("./train.js")).trainCommand],
  },
  {
    name: "predict",
    summary: "score a CSV/Parquet file with a model file (keel, XGBoost JSON, LightGBM text, ONNX)",
    load: async () => [(await import("./predict.js")).predictCommand],
  },
  {
    name: "labels",
    summary: "delayed labels and rolling performance",
    load: async () => [(await import("./labels.js")).labelsCommand],
  },
  {
    name: "validate",
    summary: "check data against an expectation suite, or propose a suite from reference data",
    load: async () => [(await import("./validate.js")).validateCommand],
  },
  {
    name: "pipeline",
    summary: "run training pipelines",
    load: async () => [(await import("./pipeline.js")).pipelineCommand],
  },
  {
    name: "retrain",
    summary: "check the retraining policy (model age, drift, performance, new labels) and optionally retrain",
    load: async () => [(await import("./retrain.js")).retrainCommand],
  },
  {
    name: "quickstart",
    summary: "generate loan data, validate it, train and gate a model, register it as champion and serve it",
    load: async () => [(await import("./quickstart.js")).quickstartCommand],
  },
  {
    name: "evaluate",
    summary: "score labelled rows with one or more models; compare each with the first (DeLong, McNemar)",
    load: async () => [(await import("./evaluate.js")).evaluateCommand],
  },
  {
    name: "features",
    summary: "feature store: definitions, training sets, online features",
    load: async () => [(await import("./features.js")).featuresCommand],
  },
  {
    name: "explain",
    summary: "exact per-row feature contributions (SHAP, margin space) of a keel, XGBoost JSON or LightGBM model",
    load: async () => [(await import("./explain.js")).explainCommand],
  },
  {
    name: "decisions",
    summary: "recorded decisions: verify, show, search, export, replay, retention",
    load: async () => [(await import("./decisions.js")).decisionsCommand],
  },
  {
    name: "rollout",
    summary: "shadow, challenger and canary rollouts held against the champion",
    load: async () => [(await import("./rollout.js")).rolloutCommand],
  },
  {
    name: "prompts",
    summary: "the prompt registry: versioned templates, diff, approved promotion",
    load: async () => [(await import("./prompts.js")).promptsCommand],
  },
  {
    name: "traces",
    summary: "LLM traces: search them, show one",
    load: async () => [(await import("./traces.js")).tracesCommand],
  },
  {
    name: "llm",
    summary:
      "LLM evaluation and monitoring: datasets, evaluation runs, paired comparison, judge calibration, route monitor windows",
    load: async () => [(await import("./llm.js")).llmCommand, (await import("./llm-monitor.js")).llmMonitorCommand],
  },
  {
    name: "review",
    summary: "the human review queue: list, claim and decide queued decisions",
    load: async () => [(await import("./review.js")).reviewCommand],
  },
  {
    name: "artifacts",
    summary: "artifact storage: copy the stored bytes to another destination (directory or S3)",
    load: async () => [(await import("./artifacts.js")).artifactsCommand],
  },
];
