import path from "node:path";
import type { KeelConfig } from "../config.js";
import type { MonitoringConfig } from "../monitoring/index.js";
import type { Stores } from "../open-stores.js";
import { lineLogger } from "../runtime/index.js";
import { retrainAlertListener, type RetrainingScheduler } from "../pipeline/index.js";
import {
  startModelServing,
  readMonitoringConfig,
  startMonitoring,
  readLlmConfig,
  startLlm,
  startServer,
  startGrpcInference,
  keelVersion,
  type RunningGrpc,
  type RunningServer,
  type RunningLlm,
} from "../server/index.js";
import type { CliContext } from "./context.js";
import { startPolicyScheduler } from "./retraining.js";
import { checkpointChains } from "../store/index.js";

export interface ServeOptions {
  readonly servingConfig?: string;
  /** A monitoring config file; wins over `monitoring`. */
  readonly monitoringConfig?: string;
  /** Monitoring config given in code (default: every champion, the default rules, the log sink). */
  readonly monitoring?: MonitoringConfig;
  readonly retrainingPolicy?: string;
  /** LLM gateway routes, prices, trace retention, prompt promotion gates (docs/llm.md). */
  readonly llmConfig?: string;
  /** The built web UI to serve at `/` (default: `dist/ui` of this installation). */
  readonly uiDir?: string;
}

export interface KeelServer {
  readonly server: RunningServer;
  /** The OIP gRPC service, when `config.grpcPort` is set. */
  readonly grpc?: RunningGrpc;
  /** Stops in dependency order: HTTP first, then the schedulers, then the models and the inference log. */
  close(): Promise<void>;
}

/**
 * Everything `keel server` runs over one set of stores: model serving, monitor jobs and alerts, and
 * (with a policy file) the retraining scheduler. A fired alert rolls back a canary of its model;
 * a retrain-tier alert checks that model's retraining policy at once.
 */
export async function startKeelServer(
  stores: Stores,
  config: KeelConfig,
  ctx: CliContext,
  options: ServeOptions = {},
): Promise<KeelServer> {
  const file = (f: string) => path.resolve(ctx.cwd, f);
  // One line per entry: failures to stderr as "message: error".
  const logger = lineLogger(ctx.out, ctx.err);
  // A bad monitoring config fails before anything starts; a bad policy file stops what has started.
  const llmConfig = options.llmConfig === undefined ? undefined : await readLlmConfig(file(options.llmConfig), ctx.env);
  const monitoringConfig =
    options.monitoringConfig === undefined
      ? options.monitoring
      : await readMonitoringConfig(file(options.monitoringConfig));
  const model = await startModelServing(stores, config, {
    ...(options.servingConfig !== undefined ? { servingFile: file(options.servingConfig) } : {}),
    logger,
  });
  // The gateway first: monitoring judges and watches its routes.
  const llm: RunningLlm | undefined = llmConfig === undefined ? undefined : startLlm(stores, llmConfig, { logger });
  const gateway = llm?.services.gateway;
  const monitoring = startMonitoring(stores, {
    ...(monitoringConfig === undefined ? {} : { config: monitoringConfig }),
    ...(gateway === undefined || llmConfig === undefined ? {} : { llm: { gateway, config: llmConfig } }),
    // Window runs and alerts (the log sink) to stdout, failures to stderr: one line each.
    logger,
  });
  monitoring.services.alerts.onAlert((event) => {
    if (event.action !== "fired") return;
    const a = event.alert;
    model.serving.handleAlert({
      modelName: a.modelName,
      tier: a.tier,
      rule: a.ruleId,
      message: a.summary,
      ...(a.modelVersion === undefined ? {} : { modelVersion: a.modelVersion }),
      ...(a.endpoint === undefined ? {} : { endpoint: a.endpoint }),
    });
  });
  let retraining: RetrainingScheduler | undefined;
  try {
    if (options.retrainingPolicy !== undefined) {
      // A retraining run whose data fails validation alerts through the same engine and sinks.
      retraining = await startPolicyScheduler(stores, file(options.retrainingPolicy), ctx, monitoring.services.alerts);
      const onRetrainAlert = retrainAlertListener(retraining);
      // Not awaited: the alert engine awaits its listeners, and a due check runs a whole pipeline,
      // which must not hold up a monitor window or the HTTP call that ran it. Failures are logged
      // by the scheduler; close() waits for a check in flight.
      monitoring.services.alerts.onAlert((event) => void onRetrainAlert(event));
    }
    const server = await startServer({
      config,
      stores,
      serving: model.serving,
      monitoring: monitoring.services,
      ...(llm === undefined ? {} : { llm: llm.services }),
      features: model.features,
      ...(options.uiDir === undefined ? {} : { uiDir: options.uiDir }),
    });
    const grpc =
      config.grpcPort === undefined
        ? undefined
        : await startGrpcInference({
            serving: model.serving,
            host: config.host,
            port: config.grpcPort,
            version: keelVersion(),
            auth: { enabled: config.authEnabled, verifier: stores.tokens },
            logger,
          }).catch(async (e: unknown) => {
            await server.close();
            throw e;
          });
    const checkpoints = scheduleCheckpoints(stores, config, logger);
    return {
      server,
      ...(grpc === undefined ? {} : { grpc }),
      async close() {
        await grpc?.close();
        await server.close();
        await checkpoints.stop();
        llm?.close();
        retraining?.stop();
        await retraining?.idle();
        await monitoring.stop();
        await model.stop();
      },
    };
  } catch (e) {
    llm?.close();
    retraining?.stop();
    await monitoring.stop();
    await model.stop();
    throw e;
  }
}

/**
 * With an audit keyring, records the chains' heads outside the database every
 * `auditCheckpointInterval` seconds and once more on shutdown (docs/audit.md).
 */
function scheduleCheckpoints(
  stores: Stores,
  config: KeelConfig,
  logger: ReturnType<typeof lineLogger>,
): { stop(): Promise<void> } {
  const keyring = stores.metadata.chainKeyring;
  if (keyring === undefined || config.auditCheckpointInterval === 0) return { stop: () => Promise.resolve() };
  const sealing = {
    audit: stores.audit,
    decisions: stores.decisions,
    keyring,
    checkpointDir: config.auditCheckpointDir,
  };
  let running: Promise<void> = Promise.resolve();
  const write = () => {
    running = running
      .then(() => checkpointChains(sealing))
      .then(
        () => undefined,
        (err: unknown) => logger.error({ err }, "audit checkpoint failed"),
      );
    return running;
  };
  const timer = setInterval(() => void write(), config.auditCheckpointInterval * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await write();
    },
  };
}

/** Resolves on the first SIGTERM or SIGINT. */
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
