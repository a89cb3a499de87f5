/**
 * keel as a library. Each area exports its public face here; append yours.
 */
export { loadConfig } from "./config.js";
export type { ConfigSources, KeelConfig } from "./config.js";
export {
  ConflictError,
  DataIntegrityError,
  ERROR_CATALOG,
  InvalidParameterError,
  InvalidStateError,
  KeelError,
  NotFoundError,
  PermissionError,
  AuthenticationError,
  UnavailableError,
  isKeelError,
} from "./errors.js";
export type { ErrorCode } from "./errors.js";
export { openStores } from "./open-stores.js";
export type { OpenStoresOptions, Stores } from "./open-stores.js";
export { openKeel } from "./keel.js";
export { artifactStorePath } from "./tracking/index.js";
export type { ActiveRun, Keel, KeelOptions } from "./keel.js";
export type {
  Actor,
  CreateLoggedModelInput,
  CreateRunInput,
  Dataset,
  DatasetInput,
  Experiment,
  LifecycleStage,
  LogBatchInput,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  Page,
  Param,
  Run,
  RunInfo,
  RunStatus,
  SearchExperimentsQuery,
  SearchLoggedModelsQuery,
  SearchRunsQuery,
  Tag,
  TrackingStore,
  UpdateRunInput,
  ViewType,
} from "./tracking/index.js";
export type {
  AliasDecision,
  CreateModelVersionInput,
  Lineage,
  ModelAlias,
  ModelVersion,
  ModelVersionStatus,
  RegisteredModel,
  RegistryStore,
  SearchQuery,
  Stage,
  Webhook,
  WebhookEvent,
  AliasMove,
  PromoteInput,
  RollbackInput,
} from "./registry/index.js";
export { KeelClient } from "./client/index.js";
export type * from "./client/index.js";
export { createApp, startServer } from "./server/index.js";
export type { AppDeps, AppStores, RoutePlugin, RunningServer } from "./server/index.js";
export * from "./data/index.js";
export * from "./stats/index.js";
export * from "./learn/index.js";
export * from "./monitoring/index.js";
export * from "./serving/index.js";
export { CHALLENGER_ALIAS, CHAMPION_ALIAS, promoteAlias, rollbackAlias } from "./registry/index.js";
export * from "./validate/index.js";
export * from "./pipeline/index.js";
export * from "./features/index.js";
export * from "./llm/index.js";
export * from "./runtime/index.js";
