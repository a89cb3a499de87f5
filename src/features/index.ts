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
  resolveFeatureRefs,
  viewSchema,
} from "./definition.js";
export type { FeatureObjectKind, FeatureObjectSummary } from "./catalog.js";
export { describeFeatureObject, featureObjects } from "./catalog.js";
export type { AppliedFeatureRepo, ApplyResult, FeatureRegistry, MaterializationRecord } from "./registry.js";
export { createFeatureRegistry } from "./registry.js";
export type { HistoricalRequest, HistoricalResult } from "./offline.js";
export { ENTITY_TIMESTAMP, getHistoricalFeatures } from "./offline.js";
