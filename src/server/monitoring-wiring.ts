import { Registry } from "prom-client";
import {
  AlertEngine,
  MonitorScheduler,
  ReviewSlaMonitor,
  parseMonitoringConfig,
  registerMonitoringMetrics,
} from "../monitoring/index.js";
import type { MonitorJobDeps, MonitoringConfig, SkewCheck } from "../monitoring/index.js";
import { createFeatureRegistry, endpointSkew, featureService } from "../features/index.js";
import { systemClock, type Clock, type LeaseFactory, type Logger, type Timers } from "../runtime/index.js";
import type { Stores } from "../open-stores.js";
import { readSpecFile } from "../spec-fields.js";
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
  const scheduler = new MonitorScheduler({
    jobs,
    config,
    alerts,
    labels: stores.labels,
    skew: featureSkewCheck(stores),
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
    services: { observations: stores.observations, alertStore, alerts, jobs, metrics },
    scheduler,
    config,
    async stop() {
      await scheduler.stop();
      await reviewSla?.stop();
    },
  };
}
