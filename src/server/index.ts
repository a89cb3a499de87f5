export { parseWindow, performanceJson } from "./labels-json.js";
export { canaryApprovalJson, rolloutReportJson } from "./rollout-json.js";
export { aliasMoveJson, experimentJson, modelVersionJson, registeredModelJson, runJson } from "./mlflow-json.js";
export { parseRole } from "./auth.js";
export type { Role } from "./auth.js";
export { startModelServing } from "./model-serving.js";
export { readMonitoringConfig, startMonitoring } from "./monitoring-wiring.js";
export { observationJson } from "./routes/monitoring.js";
export { startServer } from "./start.js";
export { keelVersion, startGrpcInference } from "./grpc-inference.js";
export type { GrpcInferenceOptions, RunningGrpc } from "./grpc-inference.js";
export type { RunningServer } from "./start.js";
export { createApp } from "./app.js";
export type { AppDeps, AppStores, RoutePlugin } from "./app.js";
export { reviewItemJson } from "./routes/review.js";
export {
  promptJson,
  promptVersionJson,
  templateJson,
  traceDetailJson,
  traceQuery,
  traceSummaryJson,
} from "./llm-json.js";
export { readLlmConfig, startLlm } from "./llm-wiring.js";
export { calibrationJson, datasetJson, datasetVersionJson, evalComparisonJson, evalRunJson } from "./llm-eval-json.js";
export { splitDatasetRef, splitPromptRef } from "./routes/llm-eval.js";
export type { RunningLlm } from "./llm-wiring.js";
export type { LlmServices } from "./app-deps.js";
export { parseRoles, SERVER_ROLES } from "./roles.js";
export type { ServerRole } from "./roles.js";
