export { openMetadataDb } from "./metadata-db.js";
export type { ChangeWatch, DialectHandle, MetadataDb } from "./metadata-db.js";
export { runMigrations } from "./migrate.js";
export type { MigrationResult } from "./migrate.js";
export { migrations } from "./migrations/index.js";
export type { Dialect, Migration, MigrationContext } from "./migrations/index.js";
export type {
  FeatureRepoVersionsTable,
  KeelDatabase,
  ExperimentsTable,
  LoggedModelsTable,
  ModelVersionsTable,
  RegisteredModelsTable,
  RunsTable,
} from "./schema.js";
export { appendAudit, auditRowHash, createAuditLog, writeAudited } from "./audit.js";
export { chainHash, GENESIS_HASH } from "./hash-chain.js";
export type { ChainKey, ChainKeyring, TrustedHead } from "./hash-chain.js";
export { parseChainKeyring, readChainCheckpoints, writeChainCheckpoint } from "./chain-checkpoint.js";
export type { ChainCheckpoint, ChainName } from "./chain-checkpoint.js";
export { checkpointChains, verifyChains, verifyDecisionChain } from "./chain-seal.js";
export type { ChainSealing, ChainsVerification } from "./chain-seal.js";
export type { AuditEntry, AuditLog, AuditQuery, AuditRecord, AuditVerification, AppendAudit } from "./audit.js";
export { createArtifactStore, createFsArtifactStore, createFsBlobBackend, normalizeArtifactPath } from "./artifacts.js";
export type {
  ArtifactEntry,
  ArtifactStore,
  ArtifactStream,
  BlobBackend,
  FsArtifactStoreOptions,
  StoredBlob,
} from "./artifacts.js";
export { isS3Destination, openArtifactStore, openBlobBackend } from "./artifact-destination.js";
export { copyBlobs } from "./artifact-copy.js";
export type { BlobCopyOptions, BlobCopyResult } from "./artifact-copy.js";
export type { ArtifactDestinationOptions } from "./artifact-destination.js";
export {
  createS3ArtifactStore,
  createS3BlobBackend,
  DEFAULT_PART_SIZE,
  MIN_PART_SIZE,
  parseS3Uri,
} from "./s3/artifact-blobs.js";
export type { S3ArtifactStoreOptions, S3Connection, S3Location } from "./s3/artifact-blobs.js";
export { createTokenStore, isRole, roleAllows, ROLES } from "./tokens.js";
export type { Role, TokenInfo, TokenStore } from "./tokens.js";
export { REFUSED_ROUTE, isServedPrediction, inferenceRecordKey } from "./inference-log.js";
export type {
  FeatureValues,
  InferenceLog,
  InferenceQuery,
  InferenceRecord,
  ReasonCode,
  ShadowScore,
  WriteRetryEvent,
} from "./inference-log.js";
export { createDecisionStore } from "./decisions.js";
export { decisionJson, decisionQuery, parseTime } from "./decisions-json.js";
export type {
  DecisionQuery,
  DecisionRecord,
  DecisionReview,
  DecisionStore,
  DecisionVerification,
  LabelledDecision,
  LabelledDecisionQuery,
  LegalHold,
  RetentionResult,
} from "./decisions.js";
export type { LabelInput, LabelStore, StoredLabel } from "./labels.js";
export type { AlertRecord, AlertStore, NewAlert } from "./alert-history.js";
export type { MonitorObservation, ObservationKind, ObservationStore } from "./monitor-observations.js";
export { createAlertStore } from "./alert-history-sql.js";
export { SqlInferenceLog } from "./inference-log-sql.js";
export { createLabelStore } from "./labels-sql.js";
export { createObservationStore } from "./monitor-observations-sql.js";
export { createEndpointStore } from "./serving-endpoints.js";
export { createReviewStore } from "./review-queue.js";
export type {
  NewReviewItem,
  ReviewItem,
  ReviewQuery,
  ReviewQueueStats,
  ReviewStore,
  ReviewVerdict,
} from "./review-queue.js";
export { createCanaryStore } from "./serving-canaries.js";
export type {
  CanaryAction,
  CanaryApproval,
  CanaryDecision,
  CanaryState as StoredCanaryState,
  CanaryStatus,
  CanaryStore,
  StoredCanary,
} from "./serving-canaries.js";
export type { EndpointStore } from "./serving-endpoints.js";
export { SqliteInferenceLogWriter } from "./sqlite/inference-log-writer.js";
export { sqlitePath } from "./sqlite/open.js";
export { nextSequenceValue } from "./sequences.js";
export { upsertTags } from "./tags.js";
export { createTraceStore } from "./llm-traces-sql.js";
export { SPAN_STATUSES } from "./llm-traces.js";
export type {
  LlmSpan,
  SpanStatus,
  TraceDetail,
  TraceFeedback,
  TraceQuery,
  TraceStore,
  TraceSummary,
} from "./llm-traces.js";
export { createLeaseStore, leasesFor, DEFAULT_LEASE_TTL_MS } from "./scheduler-leases.js";
export type { LeaseStore, StoredLease } from "./scheduler-leases.js";
export {
  createUserStore,
  hashPassword,
  verifyPassword,
  parseObjectPermission,
  OBJECT_PERMISSIONS,
  MIN_PASSWORD_LENGTH,
} from "./users.js";
export type { ObjectPermission, PermissionGrant, PermissionResource, UserInfo, UserStore } from "./users.js";
