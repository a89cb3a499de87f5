import type { Kysely } from "kysely";
import type { KeelConfig } from "../config.js";
import type { Stores } from "../open-stores.js";
import type { Logger } from "../runtime/index.js";
import { artifactFetcher, createServingRuntime, type ModelServer } from "../serving/index.js";
import { SqlInferenceLog } from "../store/inference-log-sql.js";
import { createEndpointStore } from "../store/serving-endpoints.js";
import { SqliteInferenceLogWriter } from "../store/sqlite/inference-log-writer.js";
import { sqlitePath } from "../store/sqlite/open.js";

export interface ModelServing {
  readonly serving: ModelServer;
  /** Stop serving (drain and close models), then write out the inference log. */
  stop(): Promise<void>;
}

/**
 * Wires model serving over keel's stores: registry-following endpoints, artifacts fetched from the
 * artifact store (checksum-verified), the inference log in the metadata database, the Redis
 * prediction cache when `config.redisUrl` is set, an optional serving file of endpoint policies,
 * and the endpoints created through the API (kept in the metadata database). Loads every champion
 * before returning.
 */
export async function startModelServing(
  stores: Stores,
  config: KeelConfig,
  options: { servingFile?: string; logger?: Logger } = {},
): Promise<ModelServing> {
  // On SQLite the log's inserts and fsyncs run on a worker thread, off the serving thread.
  const file = stores.metadata.dialect === "sqlite" ? sqlitePath(config.backendStoreUri) : undefined;
  const inferenceLog = new SqlInferenceLog(stores.metadata.db as Kysely<unknown>, {
    ...(file !== undefined && file !== ":memory:" ? { writer: new SqliteInferenceLogWriter(file) } : {}),
  });
  const serving = await createServingRuntime({
    registry: stores.registry,
    fetchArtifact: artifactFetcher({
      artifacts: stores.artifacts,
      runArtifactUri: async (runId) => (await stores.tracking.getRun(runId)).info.artifactUri,
    }),
    inferenceLog,
    endpointStore: createEndpointStore(stores.metadata.db, {
      translateError: (e) => stores.metadata.translateError(e),
    }),
    ...(config.redisUrl !== undefined ? { redisUrl: config.redisUrl } : {}),
    ...(options.servingFile !== undefined ? { servingFile: options.servingFile } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  await serving.start();
  return {
    serving,
    async stop() {
      await serving.stop();
      await inferenceLog.close();
    },
  };
}
