import type { Clock } from "../runtime/index.js";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { KeelConfig } from "../config.js";
import type { Gateway, LlmConfig, PromptPromotionGates } from "../llm/index.js";
import type { RegistryStore } from "../registry/index.js";
import type {
  ArtifactStore,
  AuditLog,
  CanaryStore,
  DecisionStore,
  InferenceLog,
  LabelStore,
  MetadataDb,
  ReviewStore,
  TraceStore,
  UserStore,
} from "../store/index.js";
import type { FeatureStore } from "../features/index.js";
import type { ModelServer } from "../serving/index.js";
import type { TrackingStore } from "../tracking/index.js";
import type { TokenVerifier } from "./auth.js";
import type { MonitoringServices } from "./monitoring-wiring.js";
import type { ServerRole } from "./roles.js";

/** The stores the server talks to; `openStores()` returns a superset of this. */
export interface AppStores {
  readonly tracking: TrackingStore;
  readonly registry: RegistryStore;
  readonly artifacts?: ArtifactStore;
  /** Checks bearer tokens when `config.authEnabled`. */
  readonly tokens?: TokenVerifier;
  /** Users who sign in with HTTP Basic, and their per-object permissions (docs/auth.md). */
  readonly users?: UserStore;
  /** Delayed labels (`/api/keel/labels`, docs/monitoring.md). */
  readonly labels?: LabelStore;
  /** Read by the labels and performance routes. */
  readonly inferenceLog?: InferenceLog;
  /** Decision records (`/api/keel/decisions`, docs/decisions.md). */
  readonly decisions?: DecisionStore;
  /** The human review queue (`/api/keel/review`, docs/review.md). */
  readonly reviews?: ReviewStore;
  /** The audit log (model cards read a version's approvals and promotions from it). */
  readonly audit?: AuditLog;
  /** Canary rollouts and their approvals (`/api/keel/models/{name}/canary-approval`). */
  readonly canaries?: CanaryStore;
  /** The metadata database; the feature routes keep the feature registry in it. */
  readonly metadata?: MetadataDb;
  /** LLM traces (`/v1/traces`, `/api/keel/traces`). */
  readonly traces?: TraceStore;
}

/**
 * Everything the server needs, passed in (no module-level state). Other parts of keel add
 * optional members here (e.g. `serving?`, `monitoring?`) and read them in their own route files.
 */
export interface AppDeps {
  readonly config: KeelConfig;
  readonly stores: AppStores;
  /** A pino-compatible logger; when absent the server logs at `config.logLevel`. */
  readonly logger?: FastifyBaseLogger;
  /** Epoch milliseconds; injectable so tests control time. */
  readonly clock?: Clock;
  /** Model serving (OIP V2, /invocations, keel predict API, /metrics); started and stopped by the caller. */
  readonly serving?: ModelServer;
  /** Monitoring observations, monitor jobs and alerts (docs/monitoring.md). */
  readonly monitoring?: MonitoringServices;
  /** The feature store model serving reads (its owner closes it); the feature routes open their own without it. */
  readonly features?: FeatureStore;
  readonly llm?: LlmServices;
  /**
   * What this replica serves (default every role): without `api` only the health, model serving
   * and LLM gateway routes are registered, and the endpoints API is read-only (docs/deploy.md).
   */
  readonly roles?: readonly ServerRole[];
  /** The built web UI's directory (default: `dist/ui` next to the server). */
  readonly uiDir?: string;
}

/** LLM operations (docs/llm.md): prompt promotion policy, the gateway, traces. */
export interface LlmServices {
  /** The gate, by alias, a prompt version must have passed before the alias may point at it. */
  readonly promptGates?: PromptPromotionGates;
  /** The OpenAI-compatible gateway (`/api/keel/llm/{route}/v1/...`). */
  readonly gateway?: Gateway;
  /** Prices OTLP spans; routes and retention are the gateway's and the retention job's. */
  readonly config?: LlmConfig;
}

/** A route file: registers its routes on the instance it is given. */
export type RoutePlugin = (app: FastifyInstance, deps: AppDeps) => void | Promise<void>;
