/**
 * The JSON keel's server sends and its client reads, declared once: MLflow's REST shapes, keel's
 * own routes, and the closed value lists their fields take.
 */
export * from "./enums.js";
export type * from "./mlflow.js";
export type * from "./keel.js";
export type * from "./llm.js";
export type * from "./llm-eval.js";
export type * from "./audit.js";
export * from "./oip.js";
