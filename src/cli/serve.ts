import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import path from "node:path";
import type { KeelConfig } from "../config.js";
import { InvalidParameterError } from "../errors.js";
import type { MonitoringConfig } from "../monitoring/index.js";
import type { Stores } from "../open-stores.js";
import { lineLogger, type LeaseFactory } from "../runtime/index.js";
import { DEFAULT_LEASE_TTL_MS, leasesFor } from "../store/index.js";
import { retrainAlertListener, type RetrainingScheduler } from "../pipeline/index.js";
import {
  startModelServing,
  readMonitoringConfig,
  startMonitoring,
  readLlmConfig,
  startLlm,
  startServer,
  parseRoles,
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
  /** `api,serving,scheduler` (default all): what this replica does (docs/deploy.md). */
  readonly roles?: string;
  /** Seconds a scheduled job's lease lasts without renewal (default 15): a dead replica's jobs move within it. */
  readonly leaseSeconds?: string;
  /** The built web UI to serve at `/` (default: `dist/ui` of this installation). */
  readonly uiDir?: string;
}

/** The replica's name in the leases it holds: host, process and a random part (pids repeat across containers). */
function replicaId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

function leaseTtlMs(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LEASE_TTL_MS;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3600)
    throw new InvalidParameterError(
      `lease-seconds = ${JSON.stringify(text)}: must be a number of seconds from 1 to 3600`,
      {
        details: { field: "leaseSeconds", value: text },
      },
    );
  return seconds * 1000;
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
  const roles = parseRoles(options.roles);
  const schedules = roles.includes("scheduler");
  const leases: LeaseFactory = leasesFor(stores.leases, replicaId(), leaseTtlMs(options.leaseSeconds));
  // One line per entry: failures to stderr as "message: error".
  const logger = lineLogger(ctx.out, ctx.err);
  // A bad monitoring config fails before anything starts; a bad policy file stops what has started.
  const llmConfig = options.llmConfig === undefined ? undefined : await readLlmConfig(file(options.llmConfig), ctx.env);
  const monitoringConfig =
    options.monitoringConfig === undefined
      ? options.monitoring
      : await readMonitoringConfig(file(options.monitoringConfig));
  const model = roles.includes("serving")
    ? await startModelServing(stores, config, {
        ...(options.servingConfig !== undefined ? { servingFile: file(options.servingConfig) } : {}),
        logger,
        leases,
        decidesCanaries: schedules,
      })
    : undefined;
  // The gateway first: monitoring judges and watches its routes. Trace retention runs on one scheduler replica.
  const llm: RunningLlm | undefined =
    llmConfig === undefined
      ? undefined
      : startLlm(stores, llmConfig, { logger, retention: schedules ? leases("trace-retention") : false });
  const gateway = llm?.services.gateway;
  const monitoring = startMonitoring(stores, {
    ...(monitoringConfig === undefined ? {} : { config: monitoringConfig }),
    ...(gateway === undefined || llmConfig === undefined ? {} : { llm: { gateway, config: llmConfig } }),
    // Window runs and alerts (the log sink) to stdout, failures to stderr: one line each.
    logger,
    leases,
    schedule: schedules,
  });
  monitoring.services.alerts.onAlert((event) => {
    if (event.action !== "fired" || model === undefined) return;
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
    if (options.retrainingPolicy !== undefined && schedules) {
      // A retraining run whose data fails validation alerts through the same engine and sinks.
      retraining = await startPolicyScheduler(
        stores,
        file(options.retrainingPolicy),
        ctx,
        monitoring.services.alerts,
        leases,
      );
      const onRetrainAlert = retrainAlertListener(retraining);
      // Not awaited: the alert engine awaits its listeners, and a due check runs a whole pipeline,
      // which must not hold up a monitor window or the HTTP call that ran it. Failures are logged
      // by the scheduler; close() waits for a check in flight.
      monitoring.services.alerts.onAlert((event) => void onRetrainAlert(event));
    }
    const server = await startServer({
      config,
      stores,
      roles,
      ...(model === undefined ? {} : { serving: model.serving, features: model.features }),
      monitoring: monitoring.services,
      ...(llm === undefined ? {} : { llm: llm.services }),
      ...(options.uiDir === undefined ? {} : { uiDir: options.uiDir }),
    });
    // gRPC inference belongs to the serving role: a replica without it serves no models.
    if (config.grpcPort !== undefined && model === undefined)
      logger.info({}, "gRPC inference not started: this replica has no serving role");
    const grpc =
      config.grpcPort === undefined || model === undefined
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
        await model?.stop();
      },
    };
  } catch (e) {
    llm?.close();
    retraining?.stop();
    await monitoring.stop();
    await model?.stop();
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
