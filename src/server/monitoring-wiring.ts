import { Registry } from "prom-client";
import {
  AlertEngine,
  MonitorScheduler,
  ReviewSlaMonitor,
  parseMonitoringConfig,
  registerMonitoringMetrics,
} from "../monitoring/index.js";
import type { LlmWindowCheck, MonitorJobDeps, MonitoringConfig, SkewCheck } from "../monitoring/index.js";
import {
  gatewayChat,
  getPromptVersion,
  judge,
  runLlmWindow,
  type Gateway,
  type LlmConfig,
  type LlmWindowResult,
} from "../llm/index.js";
import { createFeatureRegistry, endpointSkew, featureService } from "../features/index.js";
import { systemClock, type Clock, type LeaseFactory, type Logger, type Timers } from "../runtime/index.js";
import type { Stores } from "../open-stores.js";
import { readSpecFile, specError } from "../spec-fields.js";
import type { AlertStore, ObservationStore } from "../store/index.js";

/** What the monitoring and alert routes read (AppDeps.monitoring). */
export interface MonitoringServices {
  readonly observations: ObservationStore;
  readonly alertStore: AlertStore;
  /** Acknowledgements go through the engine so the sinks hear about them. */
  readonly alerts: AlertEngine;
  /** For one-off windows over the API. */
  readonly jobs: MonitorJobDeps;
  /** Monitoring's figures for Prometheus `/metrics` (drift, performance, quality … per model version). */
  readonly metrics: Registry;
  /** One monitor window of an LLM gateway route that has `monitor` settings (with an LLM config). */
  readonly llmWindow?: (route: string, window: { start: number; end: number }) => Promise<LlmWindowResult>;
}

export interface RunningMonitoring {
  readonly services: MonitoringServices;
  readonly scheduler: MonitorScheduler;
  readonly config: MonitoringConfig;
  stop(): Promise<void>;
}

/** Reads a `--monitoring-config` file; errors name the file and the field. */
export async function readMonitoringConfig(file: string): Promise<MonitoringConfig> {
  return readSpecFile(file, parseMonitoringConfig);
}

/** The skew check of monitored models served by entity key, over the applied feature repository. */
function featureSkewCheck(stores: Stores): SkewCheck {
  const registry = createFeatureRegistry(stores.metadata);
  return async (q) => {
    const { repo } = await registry.current();
    return endpointSkew(repo, stores.inferenceLog, q, {
      features: featureService(repo, q.featureService, "skew.featureService").features,
      ...(q.threshold !== undefined ? { threshold: q.threshold } : {}),
    });
  };
}

/**
 * The monitor window job of the LLM config's routes that have `monitor` settings: the judge calls
 * go through the gateway's judge route with the rubric prompt version resolved at each window.
 */
function llmWindowJob(
  stores: Stores,
  llm: { readonly gateway: Gateway; readonly config: LlmConfig },
  clock: Clock,
  logger: Logger | undefined,
): NonNullable<MonitoringServices["llmWindow"]> {
  return async (route, window) => {
    const settings = llm.config.routes[route]?.monitor;
    if (settings === undefined) throw specError("route", route, "is not an LLM route with monitor settings");
    const j = settings.judge;
    const rubric =
      j === undefined
        ? undefined
        : {
            prompt: await getPromptVersion(stores.registry, j.rubric.name, j.rubric.ref),
            minScore: j.minScore,
            maxScore: j.maxScore,
          };
    const call = j === undefined ? undefined : gatewayChat(llm.gateway, j.route, "keel-monitoring");
    return runLlmWindow(
      {
        traces: stores.traces,
        observations: stores.observations,
        reviews: stores.reviews,
        clock,
        ...(logger === undefined ? {} : { logger }),
        ...(rubric === undefined || call === undefined ? {} : { judge: (example) => judge(call, rubric, example) }),
      },
      settings,
      { windowStart: window.start, windowEnd: window.end },
    );
  };
}

/**
 * Wires monitoring over keel's stores: the observation store, the alert history, the alert engine
 * with the config's rules and sinks, and the scheduler of monitor jobs (started here), whose
 * windows also check training-serving skew for the models whose config asks for it, and the review
 * queue's SLA check when the config sets `reviewSla`. `clock`
 * drives the engine and the scheduler; stored alert times come from the stores' own clock.
 */
export function startMonitoring(
  stores: Stores,
  options: {
    config?: MonitoringConfig;
    clock?: Clock;
    timers?: Timers;
    fetch?: typeof globalThis.fetch;
    logger?: Logger;
    /** Several replicas: the scheduler and the review SLA check run on the holder of their lease. */
    leases?: LeaseFactory;
    /** False: no timers on this replica (no `scheduler` role); windows still run when asked over the API. */
    schedule?: boolean;
    /** The LLM gateway and its config: routes with `monitor` settings get monitor windows too. */
    llm?: { readonly gateway: Gateway; readonly config: LlmConfig };
  } = {},
): RunningMonitoring {
  const config = options.config ?? { models: [], delayMinutes: 5 };
  const clock = options.clock ?? systemClock;
  const alertStore = stores.alerts;
  const jobs: MonitorJobDeps = {
    registry: stores.registry,
    artifacts: stores.artifacts,
    inferenceLog: stores.inferenceLog,
    observations: stores.observations,
  };
  const alerts = new AlertEngine({
    observations: stores.observations,
    alerts: alertStore,
    ...(config.rules !== undefined ? { rules: config.rules } : {}),
    ...(config.sinks !== undefined ? { sinks: config.sinks } : {}),
    clock,
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const llmWindow = options.llm === undefined ? undefined : llmWindowJob(stores, options.llm, clock, options.logger);
  const llmRoutes = Object.values(options.llm?.config.routes ?? {}).flatMap((r) =>
    r.monitor === undefined ? [] : [{ route: r.name, windows: r.monitor.windows }],
  );
  const runLlm: LlmWindowCheck | undefined =
    llmWindow === undefined
      ? undefined
      : async (route, window) => {
          const r = await llmWindow(route, window);
          return { requests: r.requests, observations: r.observations };
        };
  const scheduler = new MonitorScheduler({
    jobs,
    config,
    alerts,
    labels: stores.labels,
    skew: featureSkewCheck(stores),
    ...(runLlm === undefined ? {} : { llm: { routes: llmRoutes, run: runLlm } }),
    clock,
    ...(options.timers !== undefined ? { timers: options.timers } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.leases !== undefined ? { lease: options.leases("monitor-scheduler") } : {}),
  });
  const schedule = options.schedule ?? true;
  if (schedule) scheduler.start();
  const reviewSla =
    config.reviewSla === undefined
      ? undefined
      : new ReviewSlaMonitor({
          sla: config.reviewSla,
          queue: stores.reviews,
          alerts,
          alertStore,
          clock,
          ...(options.timers !== undefined ? { timers: options.timers } : {}),
          ...(options.logger !== undefined ? { logger: options.logger } : {}),
          ...(options.leases !== undefined ? { lease: options.leases("review-sla") } : {}),
        });
  if (schedule) reviewSla?.start();
  const metrics = new Registry();
  registerMonitoringMetrics(metrics, stores.observations, { clock });
  return {
    services: {
      observations: stores.observations,
      alertStore,
      alerts,
      jobs,
      metrics,
      ...(llmWindow === undefined ? {} : { llmWindow }),
    },
    scheduler,
    config,
    async stop() {
      await scheduler.stop();
      await reviewSla?.stop();
    },
  };
}
