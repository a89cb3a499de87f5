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
export { artifactStorePath } from "./tracking/artifact-uri.js";
export type { ActiveRun, Keel, KeelOptions } from "./keel.js";
export type * from "./tracking/types.js";
export type * from "./registry/types.js";
export { KeelClient } from "./client/index.js";
export type * from "./client/index.js";
export { createApp } from "./server/app.js";
export type { AppDeps, AppStores, RoutePlugin } from "./server/app.js";
export { startServer } from "./server/start.js";
export type { RunningServer } from "./server/start.js";
export * from "./data/index.js";
export * from "./stats/index.js";
export * from "./learn/index.js";
export * from "./monitoring/index.js";
export * from "./serving/index.js";
export { CHALLENGER_ALIAS, CHAMPION_ALIAS, promoteAlias, rollbackAlias } from "./registry/promotion.js";
export type { AliasMove, PromoteInput, RollbackInput } from "./registry/promotion.js";
export * from "./validate/index.js";
export * from "./pipeline/index.js";
