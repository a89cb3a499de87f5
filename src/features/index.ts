export type {
  EntityDefinition,
  FeatureDtype,
  FeatureField,
  FeatureRef,
  FeatureRepo,
  FeatureServiceDefinition,
  FeatureViewDefinition,
  OnDemandFeatureViewDefinition,
  SourceDefinition,
} from "./definition.js";
export {
  FEATURE_DTYPES,
  featureService,
  loadFeatureRepo,
  parseFeatureRepo,
  parseTtl,
  repoDigest,
  requestedFeatures,
  resolveFeatureRefs,
  viewSchema,
} from "./definition.js";
export type { FeatureObjectKind, FeatureObjectSummary } from "./catalog.js";
export { describeFeatureObject, featureObjects } from "./catalog.js";
export type { AppliedFeatureRepo, ApplyResult, FeatureRegistry, MaterializationRecord } from "./registry.js";
export { createFeatureRegistry } from "./registry.js";
export type { HistoricalRequest, HistoricalResult } from "./historical.js";
export { ENTITY_TIMESTAMP, getHistoricalFeatures } from "./historical.js";
export type { FeatureValue, OnlineRow, OnlineStore, StoredOnlineRow } from "./online-store.js";
export { entityKey } from "./online-store.js";
export { createSqliteOnlineStore } from "./online-sqlite.js";
export { createRedisOnlineStore } from "./online-redis.js";
export { openOnlineStore } from "./open-online-store.js";
export type { OnDemandTransform } from "./on-demand.js";
export { createTransformLoader, runOnDemand } from "./on-demand.js";
export type {
  EntityInputs,
  FeatureStatus,
  FeatureVector,
  OnlineFeatureSources,
  OnlineFeaturesRequest,
  OnlineFeaturesResponse,
} from "./online.js";
export { entityInputs, getOnlineFeatures } from "./online.js";
export type { MaterializeResult } from "./materialize.js";
export { materialize, materializeIncremental } from "./materialize.js";
export type { FeatureStore, FeatureStoreDeps, OnlineFeaturesQuery, PushTarget } from "./feature-store.js";
export { createFeatureStore } from "./feature-store.js";
export { pushToOnlineStore } from "./push.js";
export { pushToOfflineStore } from "./push-offline.js";
export type { FeatureSkew, SkewOptions, SkewReport } from "./skew.js";
export { SKEW_ROWS, endpointSkew, featureSkew } from "./skew.js";
