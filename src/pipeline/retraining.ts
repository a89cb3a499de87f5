/**
 * Runs the retraining policy: gathers the facts (champion age, drift and performance from
 * monitoring, new labelled rows), evaluates the rules, runs the pipeline when a trigger fired —
 * which registers a `challenger`; promotion to `champion` stays a human decision — and records
 * every decision in the audit log and, when a pipeline ran, as tags on its run.
 */
import path from "node:path";
import { column, readTable } from "../data/index.js";
import { NotFoundError } from "../errors.js";
import {
  silentLogger,
  systemTimers,
  whileLeased,
  type Clock,
  type LeaseFactory,
  type Logger,
  type Timers,
} from "../runtime/index.js";
import type { RegistryStore } from "../registry/index.js";
import { readSpecFile } from "../spec-fields.js";
import type { TrackingStore } from "../tracking/index.js";
import type { AlertTier } from "../wire/index.js";
import { nextCronTime } from "./cron.js";
import {
  evaluateRetrainingPolicy,
  parseRetrainingPolicies,
  type DataVolumeTrigger,
  type DriftFinding,
  type RetrainingDecision,
  type RetrainingFacts,
  type RetrainingPolicy,
} from "./retraining-policy.js";

/** The part of monitoring's observation store the policy reads (drift and rolling performance). */
export interface ObservationReader {
  query(query: {
    modelName?: string;
    kind?: "drift" | "performance";
    metric?: string;
    from?: number;
    limit?: number;
  }): Promise<
    readonly {
      readonly metric: string;
      readonly feature?: string;
      readonly modelVersion?: string;
      readonly segment?: string;
      readonly value: number;
      readonly severity?: string;
      readonly windowEnd: number;
    }[]
  >;
}

/** The part of monitoring's alert history the policy reads: retrain-tier alerts that fired. */
export interface AlertReader {
  list(query: {
    modelName?: string;
    tier?: string;
    from?: number;
    limit?: number;
  }): Promise<readonly { readonly summary: string; readonly firedAt: number; readonly tier: string }[]>;
}

/** An audit log that accepts decision rows. */
export interface DecisionAudit {
  record(entry: {
    actor: string;
    action: string;
    targetType: string;
    targetId: string;
    before?: unknown;
    after?: unknown;
  }): Promise<void>;
}

/** What a pipeline run reports back to the policy. */
export interface RetrainingRun {
  readonly status: "passed" | "failed";
  readonly runId: string;
  /** The step that failed the run (`validate`, `gates`, `behaviour`). */
  readonly failedStep?: string;
  readonly failure?: string;
  /** When validation failed: each failed expectation's message (column, rule, observed, example rows). */
  readonly failedExpectations?: readonly string[];
  readonly registered?: { readonly version: string; readonly alias: string };
}

/** The alert a retraining run whose training data failed validation raises (through the alert sinks). */
export const RETRAIN_VALIDATION_ALERT = "retraining_validation_failed";

/**
 * Where retraining reports data that failed validation: monitoring's alert engine (`raise` and
 * `settle`), so it reaches the same sinks as every alert instead of a log line.
 */
export interface RetrainingAlerts {
  raise(alert: {
    readonly ruleId: string;
    readonly tier: AlertTier;
    readonly target: { readonly modelName: string };
    readonly summary: string;
    readonly value: number;
    readonly threshold: number;
    readonly detail: Readonly<Record<string, unknown>>;
  }): Promise<unknown>;
  settle(ruleId: string, target: { readonly modelName: string }): Promise<unknown>;
}

/** Runs the pipeline file with these tags on its run (wired to `runPipelineFile` by the caller). */
export type RetrainingPipelineRunner = (file: string, tags: Readonly<Record<string, string>>) => Promise<RetrainingRun>;

export interface RetrainingDeps {
  readonly registry: RegistryStore;
  readonly tracking: TrackingStore;
  readonly observations?: ObservationReader;
  /** Retrain-tier alerts in the history count for the drift trigger, as `onRetrainAlert` does. */
  readonly alerts?: AlertReader;
  readonly audit?: DecisionAudit;
  /** New labelled rows for a model since a time (e.g. from a label store); overrides the policy's data file. */
  readonly countLabelledRows?: (model: string, since: number | undefined) => Promise<number>;
  readonly runPipeline?: RetrainingPipelineRunner;
  /** A run whose data fails validation raises an alert here; a later run that passes settles it. */
  readonly alerting?: RetrainingAlerts;
  /** Epoch milliseconds. */
  readonly clock: Clock;
  /** Recorded as the actor of decisions; default `retraining-policy`. */
  readonly actor?: string;
}

export interface RetrainingCheckOptions {
  /** Run the pipeline when a trigger fired (default false: decide only). */
  readonly run?: boolean;
  /** Folder the policy's relative paths resolve against (the policy file's folder). */
  readonly baseDir?: string;
  /** Retrain-tier alerts to take into account (see `onRetrainAlert`). */
  readonly alerts?: readonly { readonly reason: string; readonly at: number }[];
}

export interface RetrainingOutcome {
  readonly decision: RetrainingDecision;
  /** The pipeline run, when one was started. */
  readonly run?: RetrainingRun;
  /** Why a due retrain did not run (no runner, `run` off, or the pipeline threw). */
  readonly skipped?: string;
}

export const RETRAIN_TAGS = {
  trigger: "keel.retrain.trigger",
  reason: "keel.retrain.reason",
  decidedAt: "keel.retrain.decided_at",
} as const;

const HOUR = 3_600_000;

/** Policies of a policy file, each with the folder its relative paths (pipeline, data) resolve against. */
export interface PolicyFile {
  readonly file: string;
  readonly policies: readonly { readonly policy: RetrainingPolicy; readonly baseDir: string }[];
}

/** Reads a JSON policy file (one policy or an array); errors name the file and the field. */
export async function readRetrainingPolicyFile(file: string): Promise<PolicyFile> {
  const resolved = path.resolve(file);
  const policies = await readSpecFile(file, (json) => parseRetrainingPolicies(json, "policy"));
  const baseDir = path.dirname(resolved);
  return { file: resolved, policies: policies.map((policy) => ({ policy, baseDir })) };
}

/** Rows of the policy's labelled data whose time is after `since` (and whose label is present). */
export async function countNewRows(
  trigger: DataVolumeTrigger,
  since: number | undefined,
  baseDir: string,
): Promise<number> {
  if (trigger.data === undefined || trigger.timeColumn === undefined) {
    throw new NotFoundError("dataVolume: no data file to count labelled rows in", {
      details: { field: "dataVolume.data" },
    });
  }
  const frame = await readTable(path.resolve(baseDir, trigger.data));
  const time = column(frame, trigger.timeColumn);
  if (time === undefined) {
    throw new NotFoundError(
      `dataVolume.timeColumn ${JSON.stringify(trigger.timeColumn)}: no such column in ${trigger.data}`,
      {
        details: { field: "dataVolume.timeColumn", value: trigger.timeColumn },
      },
    );
  }
  const label = trigger.labelColumn === undefined ? undefined : column(frame, trigger.labelColumn);
  if (trigger.labelColumn !== undefined && label === undefined) {
    throw new NotFoundError(
      `dataVolume.labelColumn ${JSON.stringify(trigger.labelColumn)}: no such column in ${trigger.data}`,
      {
        details: { field: "dataVolume.labelColumn", value: trigger.labelColumn },
      },
    );
  }
  const after = since ?? -Infinity;
  // Dates and timestamps arrive as text: parse each distinct value once.
  const times =
    time.kind === "numeric"
      ? time.values
      : Float64Array.from(time.dictionary, (d) => Date.parse(d.length === 10 ? `${d}T00:00:00Z` : d));
  let n = 0;
  for (let i = 0; i < frame.nRows; i++) {
    if (label !== undefined && label.valid !== undefined && label.valid[i] === 0) continue;
    if (label !== undefined && label.kind === "categorical" && label.codes[i] === -1) continue;
    let t: number;
    if (time.kind === "numeric") t = times[i] ?? NaN;
    else {
      const code = time.codes[i] ?? -1;
      t = code < 0 ? NaN : (times[code] ?? NaN);
    }
    if (t > after) n++;
  }
  return n;
}

/** Reads every fact the policy's enabled triggers need; facts that cannot be known are left out. */
export async function gatherRetrainingFacts(
  policy: RetrainingPolicy,
  deps: RetrainingDeps,
  now: number,
  options: RetrainingCheckOptions = {},
): Promise<RetrainingFacts> {
  const t = policy.triggers;
  const model = await deps.registry.getRegisteredModel(policy.model);
  let champion: RetrainingFacts["champion"];
  let baseline: number | undefined;
  const aliased = model.aliases.find((a) => a.alias === policy.championAlias);
  if (aliased !== undefined) {
    const version = await deps.registry.getModelVersion(policy.model, aliased.version);
    champion = { version: version.version, registeredAt: version.creationTimestamp };
    if (t.performance !== undefined && version.runId !== "") {
      try {
        const run = await deps.tracking.getRun(version.runId);
        baseline = run.data.metrics.find((m) => m.key === t.performance?.baselineMetric)?.value;
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
  }
  const lastTrainingAt = model.latestVersions.reduce<number | undefined>(
    (max, v) => (max === undefined || v.creationTimestamp > max ? v.creationTimestamp : max),
    undefined,
  );

  let drift: DriftFinding[] | undefined;
  let rolling: RetrainingFacts["rolling"];
  if (deps.observations !== undefined) {
    if (t.drift !== undefined) {
      const rows = await deps.observations.query({
        modelName: policy.model,
        kind: "drift",
        from: now - t.drift.lookbackHours * HOUR - 31 * 24 * HOUR,
        limit: 100_000,
      });
      drift = rows.flatMap((r) =>
        r.feature === undefined || r.severity === undefined
          ? []
          : [{ feature: r.feature, metric: r.metric, value: r.value, severity: r.severity, windowEnd: r.windowEnd }],
      );
    }
    if (t.performance !== undefined) {
      const rows = await deps.observations.query({
        modelName: policy.model,
        kind: "performance",
        metric: t.performance.rollingMetric,
        from: now - t.performance.lookbackHours * HOUR - 31 * 24 * HOUR,
        limit: 100_000,
      });
      // The champion version's own series when monitoring recorded one, else the pooled one (all versions).
      let pooled: RetrainingFacts["rolling"];
      for (const r of rows) {
        if (r.segment !== undefined || r.windowEnd > now) continue;
        if (r.modelVersion === undefined) {
          if (pooled === undefined || r.windowEnd > pooled.windowEnd)
            pooled = { value: r.value, windowEnd: r.windowEnd };
        } else if (r.modelVersion === champion?.version) {
          if (rolling === undefined || r.windowEnd > rolling.windowEnd)
            rolling = { value: r.value, windowEnd: r.windowEnd };
        }
      }
      rolling ??= pooled;
    }
  }

  let alerts = options.alerts;
  if (t.drift !== undefined && deps.alerts !== undefined) {
    const fired = await deps.alerts.list({
      modelName: policy.model,
      tier: "retrain",
      from: now - t.drift.lookbackHours * HOUR,
      limit: 1000,
    });
    const fromHistory = fired.filter((a) => a.tier === "retrain").map((a) => ({ reason: a.summary, at: a.firedAt }));
    // An alert handed in by onRetrainAlert is usually in the history too: keep one of each.
    const known = new Set((alerts ?? []).map((a) => a.reason));
    alerts = [...(alerts ?? []), ...fromHistory.filter((a) => !known.has(a.reason))];
  }

  let newLabelledRows: number | undefined;
  if (t.dataVolume !== undefined) {
    if (deps.countLabelledRows !== undefined)
      newLabelledRows = await deps.countLabelledRows(policy.model, lastTrainingAt);
    else if (t.dataVolume.data !== undefined)
      newLabelledRows = await countNewRows(t.dataVolume, lastTrainingAt, options.baseDir ?? ".");
  }

  return {
    ...(champion === undefined ? {} : { champion }),
    ...(baseline === undefined ? {} : { baseline }),
    ...(lastTrainingAt === undefined ? {} : { lastTrainingAt }),
    ...(drift === undefined ? {} : { drift }),
    ...(rolling === undefined ? {} : { rolling }),
    ...(alerts === undefined ? {} : { alerts }),
    ...(newLabelledRows === undefined ? {} : { newLabelledRows }),
  };
}

function firedReasons(decision: RetrainingDecision): string {
  return decision.triggers
    .filter((r) => r.fired)
    .map((r) => `${r.trigger}: ${r.reason}`)
    .join(" | ");
}

/**
 * One check of one policy: gather, decide, run the pipeline when due and `options.run` is on,
 * record the decision. The pipeline registers a challenger; nothing here moves the champion.
 */
export async function checkRetraining(
  policy: RetrainingPolicy,
  deps: RetrainingDeps,
  options: RetrainingCheckOptions = {},
): Promise<RetrainingOutcome> {
  const now = deps.clock();
  const facts = await gatherRetrainingFacts(policy, deps, now, options);
  const decision = evaluateRetrainingPolicy(policy, facts, now);
  let run: RetrainingRun | undefined;
  let skipped: string | undefined;
  if (decision.retrain) {
    if (options.run !== true) skipped = "check only: the pipeline was not run";
    else if (deps.runPipeline === undefined) skipped = "no pipeline runner configured";
    else {
      const pipelineFile = path.resolve(options.baseDir ?? ".", policy.pipeline);
      try {
        run = await deps.runPipeline(pipelineFile, {
          [RETRAIN_TAGS.trigger]: decision.fired.join(","),
          // MLflow caps tag values at 5000 characters.
          [RETRAIN_TAGS.reason]: firedReasons(decision).slice(0, 5000),
          [RETRAIN_TAGS.decidedAt]: new Date(now).toISOString(),
        });
      } catch (e) {
        skipped = `pipeline ${policy.pipeline} could not run: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  }
  await deps.audit?.record({
    actor: deps.actor ?? "retraining-policy",
    action: "retraining.decision",
    targetType: "registered_model",
    targetId: policy.model,
    after: {
      retrain: decision.retrain,
      fired: decision.fired,
      reasons: Object.fromEntries(decision.triggers.map((r) => [r.trigger, r.reason])),
      run_id: run?.runId ?? null,
      status: run?.status ?? null,
      ...(run?.registered === undefined ? {} : { version: run.registered.version, alias: run.registered.alias }),
      ...(run?.failure === undefined ? {} : { failure: run.failure }),
      ...(skipped === undefined ? {} : { skipped }),
    },
  });
  if (run !== undefined) await reportValidation(policy, deps, run);
  return { decision, ...(run === undefined ? {} : { run }), ...(skipped === undefined ? {} : { skipped }) };
}

/** A run stopped by validation raises the alert; a run that got past validation settles an open one. */
async function reportValidation(policy: RetrainingPolicy, deps: RetrainingDeps, run: RetrainingRun): Promise<void> {
  if (deps.alerting === undefined) return;
  const target = { modelName: policy.model };
  if (run.status !== "failed" || run.failedStep !== "validate") {
    await deps.alerting.settle(RETRAIN_VALIDATION_ALERT, target);
    return;
  }
  const failed = run.failedExpectations ?? [];
  await deps.alerting.raise({
    ruleId: RETRAIN_VALIDATION_ALERT,
    tier: "review",
    target,
    summary: `${policy.model}: retraining run ${run.runId} stopped, its training data failed validation: ${run.failure ?? ""}`,
    value: failed.length,
    threshold: 0,
    detail: { run_id: run.runId, pipeline: policy.pipeline, failed_expectations: failed },
  });
}

export interface RetrainingSchedulerOptions {
  readonly policies: readonly { readonly policy: RetrainingPolicy; readonly baseDir: string }[];
  readonly deps: RetrainingDeps;
  readonly timers?: Timers;
  /** Run the pipeline when a trigger fires (default true). */
  readonly run?: boolean;
  /** Told about every finished check, and about checks that failed. */
  readonly onOutcome?: (model: string, outcome: RetrainingOutcome) => void;
  /** Checks that failed. */
  readonly logger?: Logger;
  /**
   * Several replicas: a scheduled check of a model runs on the one replica that takes the lease
   * `retraining:<model>`, which records the check's due time in it, so each due time is checked once.
   * Checks an alert asks for run where the alert fired.
   */
  readonly leases?: LeaseFactory;
}

export interface RetrainingScheduler {
  /** When each policy's next check is due (epoch ms). */
  nextChecks(): Readonly<Record<string, number>>;
  /**
   * Called by the alert engine when a retrain-tier alert fires: checks that model's policy now,
   * with the alert as a drift trigger. Resolves with the outcome (undefined for a model without a policy).
   */
  onRetrainAlert(modelName: string, reason: string): Promise<RetrainingOutcome | undefined>;
  /** Resolves when no check is in flight. */
  idle(): Promise<void>;
  stop(): void;
}

/**
 * A listener for monitoring's alert engine (`engine.onAlert(...)`): a retrain-tier alert that fires
 * checks its model's policy at once.
 */
export function retrainAlertListener(
  scheduler: Pick<RetrainingScheduler, "onRetrainAlert">,
): (event: {
  readonly action: string;
  readonly alert: { readonly tier: string; readonly modelName: string; readonly summary: string };
}) => Promise<void> {
  return async (event) => {
    if (event.action !== "fired" || event.alert.tier !== "retrain") return;
    await scheduler.onRetrainAlert(event.alert.modelName, event.alert.summary);
  };
}

/**
 * Checks each policy on its cron schedule. Timers are injectable so tests drive time; a long
 * delay is re-armed in steps (Node's setTimeout caps at ~24.8 days). Checks of one model never
 * overlap: a check due while the previous one runs waits for it.
 */
export function startRetrainingScheduler(options: RetrainingSchedulerOptions): RetrainingScheduler {
  const { deps } = options;
  const timerFns = options.timers ?? systemTimers;
  const logger = options.logger ?? silentLogger;
  const MAX_DELAY = 2 ** 31 - 1;
  const next: Record<string, number> = {};
  const timers = new Map<string, unknown>();
  const chains = new Map<string, Promise<unknown>>();
  /** Scheduled checks from their timer on (taking the lease included), so idle() waits for them too. */
  const checking = new Set<Promise<void>>();
  let stopped = false;

  const byModel = new Map(options.policies.map((p) => [p.policy.model, p]));

  function enqueue(
    model: string,
    alerts?: readonly { reason: string; at: number }[],
  ): Promise<RetrainingOutcome | undefined> {
    const entry = byModel.get(model);
    if (entry === undefined) return Promise.resolve(undefined);
    const previous = chains.get(model) ?? Promise.resolve();
    const job = previous.then(async () => {
      try {
        const outcome = await checkRetraining(entry.policy, deps, {
          run: options.run ?? true,
          baseDir: entry.baseDir,
          ...(alerts === undefined ? {} : { alerts }),
        });
        options.onOutcome?.(model, outcome);
        return outcome;
      } catch (e) {
        logger.error({ err: e, model }, `retraining ${model}: check failed`);
        return undefined;
      }
    });
    chains.set(model, job);
    return job;
  }

  /** The check due at `due`, on this replica unless another has taken (or already made) it. */
  async function scheduledCheck(model: string, due: number): Promise<void> {
    const lease = options.leases?.(`retraining:${model}`);
    if (lease === undefined) {
      await enqueue(model);
      return;
    }
    try {
      await whileLeased(lease, timerFns, async (grant) => {
        if (grant.checkpoint !== undefined && Number(grant.checkpoint) >= due) return;
        // Recorded before the run: a replica that dies mid-run leaves the pipeline's failed run, not a second run.
        if (await lease.save(String(due))) await enqueue(model);
      });
    } catch (e) {
      logger.error({ err: e, model }, `retraining ${model}: the check's lease could not be taken`);
    }
  }

  function arm(model: string): void {
    if (stopped) return;
    const entry = byModel.get(model);
    if (entry === undefined) return;
    const now = deps.clock();
    const due = next[model] ?? nextCronTime(entry.policy.cron, now);
    next[model] = due;
    const delay = Math.max(0, due - now);
    timers.set(
      model,
      timerFns.setTimeout(
        () => {
          if (stopped) return;
          if (deps.clock() < due) {
            arm(model);
            return;
          }
          delete next[model];
          const check = scheduledCheck(model, due).then(() => arm(model));
          checking.add(check);
          void check.finally(() => checking.delete(check));
        },
        Math.min(delay, MAX_DELAY),
      ),
    );
  }

  for (const p of options.policies) arm(p.policy.model);

  return {
    nextChecks: () => ({ ...next }),
    onRetrainAlert(modelName, reason) {
      return enqueue(modelName, [{ reason, at: deps.clock() }]);
    },
    async idle() {
      await Promise.all([...checking, ...chains.values()]);
      await Promise.all([...chains.values()]);
    },
    stop() {
      stopped = true;
      for (const h of timers.values()) timerFns.clearTimeout(h);
      timers.clear();
    },
  };
}
