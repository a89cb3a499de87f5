import type { KeelConfig } from "../config.js";
import type { Stores } from "../open-stores.js";
import type { LeaseFactory, Logger } from "../runtime/index.js";
import type { FeatureStore } from "../features/index.js";
import { openFeatureStore } from "./routes/features.js";
import { canaryGateEvaluator } from "./canary-gate.js";
import { createServingRuntime, type ModelServer, type WatchChanges } from "../serving/index.js";
import { storeArtifactFetcher } from "./model-source.js";

export interface ModelServing {
  readonly serving: ModelServer;
  /** The feature store the feature routes and endpoints naming a feature service share. */
  readonly features: FeatureStore;
  /** Stop serving (drain and close models), then write out the inference log. */
  stop(): Promise<void>;
}

/**
 * Wires model serving over keel's stores: registry-following endpoints, artifacts fetched from the
 * artifact store (checksum-verified), the inference log in the metadata database, the Redis
 * prediction cache when `config.redisUrl` is set, an optional serving file of endpoint policies,
 * the endpoints created through the API (kept in the metadata database), the review queue, and the
 * feature store of endpoints that name a feature service. Loads every champion before returning.
 */
export async function startModelServing(
  stores: Stores,
  config: KeelConfig,
  options: {
    servingFile?: string;
    logger?: Logger;
    /** Several replicas: canaries advance on the holder of the `canary-advance` lease. */
    leases?: LeaseFactory;
    /** False: this replica never advances canaries (no `scheduler` role). */
    decidesCanaries?: boolean;
  } = {},
): Promise<ModelServing> {
  const inferenceLog = stores.servingInferenceLog;
  const features = openFeatureStore(stores.metadata, config);
  const watchChanges = changeWatcher(stores, options.logger);
  const serving = await createServingRuntime({
    features,
    registry: stores.registry,
    fetchArtifact: storeArtifactFetcher(stores),
    inferenceLog,
    endpointStore: stores.endpoints,
    reviewQueue: stores.reviews,
    canaries: { store: stores.canaries, registry: stores.registry },
    canaryGate: canaryGateEvaluator({
      registry: stores.registry,
      inferenceLog: stores.inferenceLog,
      labels: stores.labels,
    }),
    ...(options.leases !== undefined ? { canaryLease: options.leases("canary-advance") } : {}),
    ...(options.decidesCanaries !== undefined ? { decidesCanaries: options.decidesCanaries } : {}),
    ...(watchChanges !== undefined ? { watchChanges } : {}),
    ...(config.redisUrl !== undefined ? { redisUrl: config.redisUrl } : {}),
    ...(options.servingFile !== undefined ? { servingFile: options.servingFile } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  await serving.start();
  return {
    serving,
    features,
    async stop() {
      await serving.stop();
      await features.close();
      // The log itself belongs to the stores and is closed with them.
      await inferenceLog.flush();
    },
  };
}

/** The metadata database's change notifications as serving follows them (PostgreSQL; none on SQLite). */
function changeWatcher(stores: Stores, logger: Logger | undefined): WatchChanges | undefined {
  const watch = stores.metadata.watchChanges;
  if (watch === undefined) return undefined;
  return (onChange) =>
    watch(
      () => onChange(),
      (err) => logger?.error({ err }, "serving: change notifications lost; polling until they are back"),
    );
}
