import { createFeatureRegistry } from "../features/index.js";
import type { Stores } from "../open-stores.js";
import { lineLogger, systemClock, type Clock, type LeaseFactory } from "../runtime/index.js";
import {
  runPipelineFile,
  readRetrainingPolicyFile,
  startRetrainingScheduler,
  type RetrainingAlerts,
  type RetrainingDeps,
  type RetrainingPipelineRunner,
  type RetrainingScheduler,
} from "../pipeline/index.js";
import type { Actor } from "../tracking/index.js";

/** Who the retraining policy acts as in tracking and the audit log. */
export const RETRAINING_ACTOR: Actor = { userId: "retraining-policy" };

/** Runs a pipeline file as `keel pipeline run` does (reference profile included), tagged with the decision. */
export function pipelineRunner(stores: Stores, actor: Actor = RETRAINING_ACTOR): RetrainingPipelineRunner {
  return async (file, tags) => {
    const r = await runPipelineFile(
      file,
      {
        tracking: stores.tracking,
        registry: stores.registry,
        artifacts: stores.artifacts,
        features: createFeatureRegistry(stores.metadata),
        decisions: stores.decisions,
        actor,
      },
      { tags },
    );
    return {
      status: r.status,
      runId: r.runId,
      ...(r.failedStep === undefined ? {} : { failedStep: r.failedStep }),
      ...(r.failure === undefined ? {} : { failure: r.failure }),
      ...(r.validation === undefined || r.validation.passed
        ? {}
        : { failedExpectations: r.validation.results.filter((x) => !x.passed).map((x) => x.message) }),
      ...(r.registered === undefined
        ? {}
        : { registered: { version: r.registered.version, alias: r.registered.alias } }),
    };
  };
}

/**
 * The retraining policy's view of the stores, with the pipeline wired in; with `alerting`
 * (monitoring's alert engine), a run whose data fails validation raises an alert through the sinks.
 */
export function retrainingDeps(
  stores: Stores,
  clock: Clock = systemClock,
  alerting?: RetrainingAlerts,
): RetrainingDeps {
  return {
    ...(alerting === undefined ? {} : { alerting }),
    registry: stores.registry,
    tracking: stores.tracking,
    observations: stores.observations,
    alerts: stores.alerts,
    audit: stores.audit,
    runPipeline: pipelineRunner(stores),
    clock,
    actor: RETRAINING_ACTOR.userId,
  };
}

/**
 * Starts the retraining scheduler for a policy file inside `keel server`: each policy is checked on
 * its cron schedule and a due pipeline runs. The returned scheduler's `onRetrainAlert` is the entry
 * point for retrain-tier alerts.
 */
export async function startPolicyScheduler(
  stores: Stores,
  file: string,
  log: { out: (text: string) => void; err: (text: string) => void },
  alerting?: RetrainingAlerts,
  leases?: LeaseFactory,
): Promise<RetrainingScheduler> {
  const { policies } = await readRetrainingPolicyFile(file);
  const scheduler = startRetrainingScheduler({
    policies,
    ...(leases === undefined ? {} : { leases }),
    deps: retrainingDeps(stores, systemClock, alerting),
    onOutcome: (model, o) =>
      log.out(
        `retraining ${model}: ${o.decision.retrain ? `due (${o.decision.fired.join(", ")})` : "not due"}${
          o.run === undefined ? "" : `; pipeline run ${o.run.runId} ${o.run.status}`
        }${o.skipped === undefined ? "" : `; ${o.skipped}`}`,
      ),
    logger: lineLogger(log.out, log.err),
  });
  const next = Object.entries(scheduler.nextChecks())
    .map(([model, at]) => `${model} at ${new Date(at).toISOString()}`)
    .join(", ");
  log.out(`retraining policy: next check ${next}`);
  return scheduler;
}
