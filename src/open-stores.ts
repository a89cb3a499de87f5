import type { Clock } from "./runtime/index.js";
import {
  createRegistryStore,
  createWebhookDispatcher,
  type WebhookDelivery,
  type WebhookDispatcher,
} from "./registry/index.js";
import type { RegistryStore } from "./registry/index.js";
import type { AlertStore, InferenceLog, LabelStore, MigrationResult, ObservationStore } from "./store/index.js";
import {
  createAlertStore,
  openArtifactStore,
  type ArtifactStore,
  type S3Connection,
  createAuditLog,
  type AuditLog,
  createDecisionStore,
  type DecisionStore,
  SqlInferenceLog,
  createLabelStore,
  createObservationStore,
  openMetadataDb,
  type MetadataDb,
  createEndpointStore,
  type EndpointStore,
  createReviewStore,
  type ReviewStore,
  createCanaryStore,
  type CanaryStore,
  SqliteInferenceLogWriter,
  sqlitePath,
  createTokenStore,
  type TokenStore,
  createUserStore,
  type UserStore,
  createTraceStore,
  type TraceStore,
  type ChainKeyring,
  createLeaseStore,
  type LeaseStore,
} from "./store/index.js";
import { createTrackingStore } from "./tracking/index.js";
import type { TrackingStore } from "./tracking/index.js";

export interface OpenStoresOptions {
  /** `sqlite:///path.db` or `postgresql://…` (see docs/storage.md). */
  readonly backendStoreUri: string;
  /** Where artifact bytes live: a directory, or `s3://bucket/prefix` (docs/storage.md). */
  readonly artifactRoot: string;
  /** How to reach the S3-compatible server when `artifactRoot` is `s3://…`. */
  readonly s3?: S3Connection | undefined;
  /** Epoch milliseconds; injectable so tests control time. */
  readonly clock?: Clock;
  /** Server-wide HMAC secret for webhooks created without their own. */
  readonly webhookSecret?: string;
  /** fetch used to deliver webhooks (default: the global fetch). */
  readonly fetch?: typeof globalThis.fetch;
  /** Told about every finished webhook delivery (e.g. to log failures). */
  readonly onWebhookDelivery?: (d: WebhookDelivery) => void;
  /** Keys sealing the audit log and decision records (HMAC-SHA256; docs/audit.md). */
  readonly chainKeyring?: ChainKeyring | undefined;
}

export interface Stores {
  readonly tracking: TrackingStore;
  readonly registry: RegistryStore;
  readonly artifacts: ArtifactStore;
  readonly audit: AuditLog;
  readonly tokens: TokenStore;
  /** Users who sign in with a password, and their permissions on experiments and registered models. */
  readonly users: UserStore;
  readonly metadata: MetadataDb;
  readonly webhooks: WebhookDispatcher;
  /** Monitoring results as a time series (drift, quality, prediction drift, performance). */
  readonly observations: ObservationStore;
  /** Delayed labels, joined to the inference log by monitoring (docs/monitoring.md). */
  readonly labels: LabelStore;
  /** The inference log on the metadata database, for readers (monitoring, labels). */
  readonly inferenceLog: InferenceLog;
  /**
   * The inference log model serving appends to: on a SQLite file its inserts and fsyncs run on a
   * worker thread, off the serving thread.
   */
  readonly servingInferenceLog: InferenceLog;
  /** Decision records: the hash-chained inference log read as decisions, legal holds, retention. */
  readonly decisions: DecisionStore;
  /** Alert history (fired, acknowledged, resolved monitoring alerts). */
  readonly alerts: AlertStore;
  /** Serving endpoints created through the API. */
  readonly endpoints: EndpointStore;
  /** The human review queue and its verdicts (docs/review.md). */
  readonly reviews: ReviewStore;
  /** Canary rollouts (resumed after a restart) and the approvals that let them finish. */
  readonly canaries: CanaryStore;
  /** LLM traces: OTLP spans and the gateway's (docs/llm.md). */
  readonly traces: TraceStore;
  /** Leases of scheduled jobs, so each runs on one replica at a time (docs/deploy.md). */
  readonly leases: LeaseStore;
  /** Applies pending migrations; run it before first use (`keel migrate`, server start). */
  migrate(): Promise<MigrationResult>;
  /** Waits for webhook deliveries in flight, then closes the database. */
  close(): Promise<void>;
}

/**
 * The one wiring function for keel's stores: picks the metadata backend from the URI scheme and
 * builds every store over it. Does no I/O; the driver connects on first use.
 */
export function openStores(options: OpenStoresOptions): Stores {
  const clock = options.clock ?? Date.now;
  const metadata = openMetadataDb(options.backendStoreUri, { chainKeyring: options.chainKeyring });
  const webhooks = createWebhookDispatcher({
    fetch: options.fetch ?? globalThis.fetch,
    clock,
    ...(options.onWebhookDelivery !== undefined ? { onDelivery: options.onWebhookDelivery } : {}),
  });
  const tracking = createTrackingStore(metadata, { clock });
  const registry = createRegistryStore(metadata, {
    clock,
    webhooks,
    ...(options.webhookSecret !== undefined ? { webhookSecret: options.webhookSecret } : {}),
  });
  const artifacts = openArtifactStore(metadata, options.artifactRoot, { s3: options.s3, clock });
  const inferenceLog = new SqlInferenceLog(metadata);
  const servingInferenceLog = openServingInferenceLog(metadata, options.backendStoreUri);
  return {
    tracking,
    registry,
    artifacts,
    audit: createAuditLog(metadata, { clock }),
    tokens: createTokenStore(metadata, { clock }),
    users: createUserStore(metadata, { clock }),
    metadata,
    webhooks,
    observations: createObservationStore(metadata),
    labels: createLabelStore(metadata, { clock }),
    inferenceLog,
    servingInferenceLog,
    decisions: createDecisionStore(metadata, { clock }),
    alerts: createAlertStore(metadata, { clock }),
    endpoints: createEndpointStore(metadata, { clock }),
    reviews: createReviewStore(metadata, { clock }),
    canaries: createCanaryStore(metadata, { clock }),
    traces: createTraceStore(metadata, { clock }),
    leases: createLeaseStore(metadata, { clock }),
    migrate: () => metadata.migrate(clock),
    async close() {
      await webhooks.idle();
      await servingInferenceLog.close();
      await inferenceLog.close();
      await artifacts.close();
      await metadata.close();
    },
  };
}

function openServingInferenceLog(metadata: MetadataDb, backendStoreUri: string): InferenceLog {
  const file = metadata.dialect === "sqlite" ? sqlitePath(backendStoreUri) : undefined;
  return new SqlInferenceLog(metadata, {
    ...(file !== undefined && file !== ":memory:" ? { writer: new SqliteInferenceLogWriter(file) } : {}),
  });
}
