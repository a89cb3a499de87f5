import { Redis } from "ioredis";
import type { FeatureStore } from "../features/index.js";
import type { ModelVersion } from "../registry/index.js";
import type { Clock, Logger } from "../runtime/index.js";
import { readSpecFile } from "../spec-fields.js";
import type { InferenceLog, EndpointStore, ReviewStore } from "../store/index.js";
import { artifactExplainerLoader, artifactModelLoader } from "./artifact-loader.js";
import { RedisPredictionCache } from "./cache.js";
import { parseServingFile } from "./endpoint-config.js";
import { ModelServer, type ModelServerOptions, type ServingRegistry } from "./model-server.js";

export interface ServingRuntimeOptions {
  readonly registry: ServingRegistry;
  /** The artifact bytes of a registered version (the artifact store's read). */
  readonly fetchArtifact: (version: ModelVersion) => Promise<Uint8Array>;
  readonly inferenceLog?: InferenceLog;
  /** Keeps endpoints created through the API (the metadata database). */
  readonly endpointStore?: EndpointStore;
  /** The human review queue endpoints with a review policy write to. */
  readonly reviewQueue?: Pick<ReviewStore, "enqueue" | "stats">;
  /** Share the prediction cache through Redis when set. */
  readonly redisUrl?: string;
  /** JSON serving file: endpoints with traffic policies and batching settings. */
  readonly servingFile?: string;
  readonly clock?: Clock;
  readonly pollIntervalMs?: number;
  readonly isAlertFiring?: (endpoint: string) => boolean | Promise<boolean>;
  /** Canary persistence and promotion, and the canary gate (see ModelServerOptions). */
  readonly canaries?: ModelServerOptions["canaries"];
  readonly canaryGate?: ModelServerOptions["canaryGate"];
  readonly canaryLease?: ModelServerOptions["canaryLease"];
  readonly decidesCanaries?: boolean;
  readonly watchChanges?: ModelServerOptions["watchChanges"];
  readonly logger?: Logger;
  /** The feature store of endpoints that name a feature service. */
  readonly features?: FeatureStore;
}

/**
 * Builds the model server `keel server` runs: registry-following endpoints, the serving file's
 * policies, Redis-backed cache when configured. The caller starts and stops it.
 */
export async function createServingRuntime(options: ServingRuntimeOptions): Promise<ModelServer> {
  let file = parseServingFile({});
  if (options.servingFile !== undefined) {
    file = await readSpecFile(options.servingFile, parseServingFile);
  }
  let cache: RedisPredictionCache | undefined;
  if (options.redisUrl !== undefined) {
    const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    // A cache that cannot answer is a miss, logged by the request path; the client's own error events say nothing more.
    redis.on("error", () => undefined);
    cache = new RedisPredictionCache(redis, { ttlMs: 60_000 });
  }
  return new ModelServer({
    registry: options.registry,
    loadModel: artifactModelLoader(options.fetchArtifact),
    loadExplainer: artifactExplainerLoader(options.fetchArtifact),
    endpoints: file.endpoints,
    modelBatching: file.modelBatching,
    ...(file.batching ? { batching: file.batching } : {}),
    ...(options.inferenceLog ? { inferenceLog: options.inferenceLog } : {}),
    ...(options.endpointStore ? { endpointStore: options.endpointStore } : {}),
    ...(options.reviewQueue ? { reviewQueue: options.reviewQueue } : {}),
    ...(cache ? { cache } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.isAlertFiring ? { isAlertFiring: options.isAlertFiring } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    canaries: options.canaries,
    canaryGate: options.canaryGate,
    ...(options.canaryLease !== undefined ? { canaryLease: options.canaryLease } : {}),
    ...(options.decidesCanaries !== undefined ? { decidesCanaries: options.decidesCanaries } : {}),
    ...(options.watchChanges !== undefined ? { watchChanges: options.watchChanges } : {}),
    ...(options.features ? { features: options.features } : {}),
  });
}
