export { parseRouteMonitor } from "./config.js";
export type { LlmJudgeSettings, LlmReviewSettings, LlmRouteMonitor } from "./config.js";
export { JUDGE_USER, LLM_REVIEW_DECISIONS, reviewEndpoint, runLlmWindow, samplePoint } from "./job.js";
export type { LlmMonitorDeps, LlmWindowResult } from "./job.js";
export { hasRefusalPhrase, isRefusal, REFUSAL_PHRASES } from "./refusal.js";
export type { AnswerChoice } from "./refusal.js";
export { llmWindowObservations, traceFacts } from "./window.js";
export type { Judgment, TraceFacts, WindowOptions } from "./window.js";
