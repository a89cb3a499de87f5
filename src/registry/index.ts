export type * from "./types.js";
export { IS_DATASET_TAG, IS_PROMPT_TAG } from "./types.js";
export { canonicalStage, checkAlias, createRegistryStore } from "./sql-registry-store.js";
export type { RegistryStoreDeps } from "./sql-registry-store.js";
export {
  createWebhookDispatcher,
  DELIVERY_HEADER,
  EVENT_HEADER,
  signWebhookPayload,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from "./webhooks.js";
export type { WebhookDelivery, WebhookDispatcher, WebhookDispatcherOptions, WebhookTarget } from "./webhooks.js";
export { CHALLENGER_ALIAS, CHAMPION_ALIAS, promoteAlias, rollbackAlias } from "./promotion.js";
export type { AliasMove, PromoteInput, RollbackInput } from "./promotion.js";
export { artifactFetcher, mlflowFolderOf } from "./version-artifact.js";
export type { ArtifactSourceOptions, MlflowFolder } from "./version-artifact.js";
export { MLMODEL_FILE, parseMlmodel, servableModel, signatureFromInputExample } from "./mlflow-model.js";
export type { MlflowModelFile, MlflowTensorSpec } from "./mlflow-model.js";
export { REFERENCE_PROFILE_TAG, loadReferenceProfileJson, saveReferenceProfileJson } from "./reference-profile-blob.js";
export type { ReferenceProfileDeps } from "./reference-profile-blob.js";
export {
  DECISION_COSTS_TAG,
  DECISION_THRESHOLD_TAG,
  checkCosts,
  setVersionDecision,
  versionDecision,
} from "./decision.js";
export type { DecisionCosts, VersionDecision } from "./decision.js";
