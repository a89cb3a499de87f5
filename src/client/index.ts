export { KeelClient } from "./client.js";
export { KeelLlmClient } from "./llm-client.js";
export type { KeelRequester, TraceSearchRequest } from "./llm-client.js";
export type { FetchLike, KeelClientOptions, SearchRequest, SearchRunsRequest } from "./client.js";
/** The wire's JSON shapes, for the client's users (its value lists are the domain modules' to export). */
export type {
  AlertJson,
  AlertQueryJson,
  AliasMoveJson,
  ColumnDriftJson,
  DatasetInputJson,
  DatasetJson,
  ExperimentJson,
  FileInfoJson,
  GroupPerformanceJson,
  LabelIngestJson,
  LabelItemJson,
  LoggedModelJson,
  MetricJson,
  ModelVersionJson,
  MonitorRunJson,
  MonitoringSummaryJson,
  ObservationJson,
  ObservationQueryJson,
  PageJson,
  ParamJson,
  PerformanceJson,
  RegisteredModelJson,
  RunInfoJson,
  RunJson,
  SignatureJson,
  TagJson,
  WebhookJson,
  ChatMessageJson,
  PromptDiffJson,
  PromptJson,
  PromptVersionJson,
  RenderedPromptJson,
  SpanJson,
  TraceDetailJson,
  TraceFeedbackJson,
  TraceSummaryJson,
} from "../wire/index.js";
export type * from "./features-json.js";
