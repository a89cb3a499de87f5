/**
 * One pipeline run's context: its definition, stores, clock and actor, the parent tracking run,
 * its lineage, the training data, the step cache and the steps recorded so far. Steps receive it
 * and record themselves through `runStep`, each as a child run of the pipeline run.
 */
import type { Clock } from "../runtime/index.js";
import type { Frame } from "../data/index.js";
import { NotFoundError } from "../errors.js";
import type { RegistryStore } from "../registry/index.js";
import { artifactStorePath, type ArtifactStore } from "../tracking/index.js";
import type { Actor, Metric, Param, Tag, TrackingStore } from "../tracking/index.js";
import { createStepCache, type StepCache } from "./cache.js";
import type { PipelineDefinition } from "./definition.js";
import { reviewedDecisionTags } from "./reviewed-decisions.js";
import type {
  PipelineDeps,
  PipelineLineage,
  TrainingDataBytes,
  PipelineOptions,
  PipelineResult,
  StepName,
  StepRecord,
  StepStatus,
} from "./types.js";

export interface PipelineContext {
  readonly def: PipelineDefinition;
  readonly options: PipelineOptions;
  readonly tracking: TrackingStore;
  readonly registry: RegistryStore;
  readonly artifacts: ArtifactStore;
  readonly clock: Clock;
  readonly actor: Actor;
  readonly experimentId: string;
  /** The pipeline (parent) run. */
  readonly runId: string;
  readonly artifactUri: string;
  readonly lineage: PipelineLineage;
  /** Every row of the data (of its window, when the definition sets one), and the 0/1 labels of its target. */
  readonly frame: Frame;
  readonly labels: Float64Array;
  /** The exact bytes of that data, kept with the version it trains. */
  readonly trainingData: TrainingDataBytes;
  readonly cache: StepCache;
  /** False when cached outputs are recomputed (they are still stored). */
  readonly useCache: boolean;
  /** What each step reported, in order. */
  readonly steps: StepRecord[];
}

/** A step's child run, which its body logs to. */
export interface ChildRun {
  readonly runId: string;
  readonly artifactUri: string;
}

export interface StepOutcome<T> {
  readonly value: T;
  readonly status: StepStatus;
  readonly message: string;
  readonly cached: boolean;
}

/** Opens the pipeline run (creating its experiment when missing), tagged with its lineage. */
export async function openPipelineContext(
  def: PipelineDefinition,
  deps: PipelineDeps,
  options: PipelineOptions,
  data: {
    readonly lineage: PipelineLineage;
    readonly frame: Frame;
    readonly labels: Float64Array;
    readonly trainingData: TrainingDataBytes;
  },
): Promise<PipelineContext> {
  const clock = deps.clock ?? Date.now;
  const actor = deps.actor ?? { userId: "pipeline" };
  const { tracking } = deps;
  const { dataHash, configHash, codeVersion, featureService, featureRepoVersion, reviewedDecisions } = data.lineage;
  let experimentId: string;
  try {
    experimentId = (await tracking.getExperimentByName(def.experiment)).experimentId;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    experimentId = await tracking.createExperiment(def.experiment, undefined, [], actor);
  }
  const parent = await tracking.createRun(
    {
      experimentId,
      runName: def.name,
      userId: actor.userId,
      startTime: clock(),
      tags: [
        { key: "keel.pipeline", value: def.name },
        { key: "keel.data_sha256", value: dataHash },
        { key: "keel.config_sha256", value: configHash },
        ...(codeVersion === undefined ? [] : [{ key: "mlflow.source.git.commit", value: codeVersion }]),
        ...(featureService === undefined
          ? []
          : [
              { key: "keel.feature_service", value: featureService },
              { key: "keel.feature_repo_version", value: String(featureRepoVersion) },
            ]),
        ...reviewedDecisionTags(reviewedDecisions),
        { key: "mlflow.source.type", value: "PIPELINE" },
        ...Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value })),
      ],
    },
    actor,
  );
  return {
    def,
    options,
    tracking,
    registry: deps.registry,
    artifacts: deps.artifacts,
    clock,
    actor,
    experimentId,
    runId: parent.info.runId,
    artifactUri: parent.info.artifactUri,
    lineage: data.lineage,
    frame: data.frame,
    labels: data.labels,
    trainingData: data.trainingData,
    cache: createStepCache(deps.artifacts),
    useCache: options.cache ?? true,
    steps: [],
  };
}

function paramText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Logs the finite values as metrics at step 0, in batches the tracking store accepts. */
export async function logMetrics(
  ctx: PipelineContext,
  runId: string,
  values: Readonly<Record<string, number>>,
): Promise<void> {
  const metrics: Metric[] = Object.entries(values)
    .filter(([, v]) => Number.isFinite(v))
    .map(([key, value]) => ({ key, value, step: 0, timestamp: ctx.clock() }));
  for (let i = 0; i < metrics.length; i += 1000)
    await ctx.tracking.logBatch(runId, { metrics: metrics.slice(i, i + 1000) }, ctx.actor);
}

/** Logs the defined values as params (non-strings as JSON, cut to the params' length limit). */
export async function logParams(
  ctx: PipelineContext,
  runId: string,
  values: Readonly<Record<string, unknown>>,
): Promise<void> {
  const params: Param[] = Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([key, v]) => ({ key, value: paramText(v).slice(0, 6000) }));
  for (let i = 0; i < params.length; i += 100)
    await ctx.tracking.logBatch(runId, { params: params.slice(i, i + 100) }, ctx.actor);
}

export async function logArtifact(
  ctx: PipelineContext,
  artifactUri: string,
  rel: string,
  bytes: Uint8Array,
): Promise<void> {
  await ctx.artifacts.putFile(`${artifactStorePath(artifactUri)}/${rel}`, bytes);
}

export async function setTags(ctx: PipelineContext, runId: string, tags: readonly Tag[]): Promise<void> {
  await ctx.tracking.logBatch(runId, { tags }, ctx.actor);
}

/** A child run of `parentId`, as MLflow nests runs. */
export async function childRun(
  ctx: PipelineContext,
  parentId: string,
  name: string,
  tags: readonly Tag[],
): Promise<ChildRun> {
  const run = await ctx.tracking.createRun(
    {
      experimentId: ctx.experimentId,
      runName: name,
      userId: ctx.actor.userId,
      startTime: ctx.clock(),
      tags: [{ key: "mlflow.parentRunId", value: parentId }, ...tags],
    },
    ctx.actor,
  );
  return { runId: run.info.runId, artifactUri: run.info.artifactUri };
}

export async function endRun(ctx: PipelineContext, runId: string, status: "FINISHED" | "FAILED"): Promise<void> {
  await ctx.tracking.updateRun(runId, { status, endTime: ctx.clock() }, ctx.actor);
}

/**
 * Runs one step as a child run of the pipeline run. `body` returns the step's status and message;
 * the child run ends FINISHED or FAILED accordingly (FAILED too when `body` throws).
 */
export async function runStep<T>(
  ctx: PipelineContext,
  name: StepName,
  cacheKey: string | undefined,
  body: (child: ChildRun) => Promise<StepOutcome<T>>,
): Promise<T> {
  const started = ctx.clock();
  ctx.options.onStep?.({ step: name, phase: "start" });
  const child = await childRun(ctx, ctx.runId, name, [
    { key: "keel.step", value: name },
    ...(cacheKey === undefined ? [] : [{ key: "keel.cache_key", value: cacheKey }]),
  ]);
  try {
    const out = await body(child);
    await ctx.tracking.setTag(child.runId, { key: "keel.cached", value: String(out.cached) }, ctx.actor);
    await endRun(ctx, child.runId, out.status === "failed" ? "FAILED" : "FINISHED");
    const seconds = (ctx.clock() - started) / 1000;
    const { status, cached, message } = out;
    ctx.steps.push({ step: name, status, runId: child.runId, cached, seconds, message });
    ctx.options.onStep?.({ step: name, phase: "end", status, cached, seconds, message });
    return out.value;
  } catch (e) {
    await endRun(ctx, child.runId, "FAILED");
    throw e;
  }
}

/** Records a step the definition does not ask for; it gets no child run. */
export function skipStep(ctx: PipelineContext, name: StepName, message: string): void {
  ctx.steps.push({ step: name, status: "skipped", cached: false, seconds: 0, message });
}

/** The message of the step recorded last (the one that failed, when a run fails). */
export function lastStepMessage(ctx: PipelineContext, fallback: string): string {
  return ctx.steps[ctx.steps.length - 1]?.message ?? fallback;
}

export type StepReports = Omit<PipelineResult, "status" | "pipeline" | "runId" | "experimentId" | "lineage" | "steps">;

/** Ends the pipeline run FINISHED (passed) or FAILED, noting the cached steps and what failed. */
export async function finishRun(
  ctx: PipelineContext,
  status: "passed" | "failed",
  reports: StepReports,
): Promise<PipelineResult> {
  // The step records already say which steps were cached; skipped steps never are.
  const cachedSteps = ctx.steps.filter((s) => s.cached).map((s) => s.step);
  const tags: Tag[] = [{ key: "keel.cached_steps", value: cachedSteps.join(",") }];
  if (reports.failedStep !== undefined) tags.push({ key: "keel.failed_step", value: reports.failedStep });
  if (reports.failure !== undefined) tags.push({ key: "keel.failure", value: reports.failure.slice(0, 5000) });
  await setTags(ctx, ctx.runId, tags);
  await endRun(ctx, ctx.runId, status === "passed" ? "FINISHED" : "FAILED");
  const { def, runId, experimentId, lineage, steps } = ctx;
  return { status, pipeline: def.name, runId, experimentId, lineage, steps, ...reports };
}

/** Ends the pipeline run FAILED with the error that stopped it. */
export async function abortRun(ctx: PipelineContext, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  await setTags(ctx, ctx.runId, [{ key: "keel.error", value: message.slice(0, 5000) }]);
  await endRun(ctx, ctx.runId, "FAILED");
}
