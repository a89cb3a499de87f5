/**
 * The pipeline runner: validate → split → train (optionally tuned) → evaluate → gates → behaviour
 * tests → register. Every run is a tracking run with its lineage (data sha256, code commit,
 * config hash); every step and tuning trial is a child run. Deterministic steps are cached by the
 * hashes of their inputs. Anything that fails validation, a gate or a behaviour test fails the
 * run and registers nothing.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Frame } from "../data/index.js";
import { readTable, prepareTarget } from "../data/index.js";
import { InvalidParameterError } from "../errors.js";
import { parseSuite, readSuiteFile, type ExpectationSuite } from "../validate/index.js";
import type { BehaviourResult } from "./behaviour.js";
import {
  abortRun,
  finishRun,
  lastStepMessage,
  logParams,
  openPipelineContext,
  skipStep,
  type PipelineContext,
} from "./context.js";
import {
  canonicalHash,
  parsePipelineDefinition,
  readPipelineDefinition,
  sha256Hex,
  type PipelineDefinition,
  type PipelineDefinitionInput,
} from "./definition.js";
import { gitCommit } from "./lineage.js";
import { specError } from "../spec-fields.js";
import { csvBytes, selectWindow } from "./training-data.js";
import { appendReviewedDecisions, readReviewedDecisions } from "./reviewed-decisions.js";
import { readTrainingSet } from "./training-set.js";
import { windowStart } from "./window.js";
import { behaviourStep } from "./steps/behaviour.js";
import { evaluateStep, validationRows } from "./steps/evaluate.js";
import { gatesStep } from "./steps/gates.js";
import { registerStep } from "./steps/register.js";
import { splitStep } from "./steps/split.js";
import { trainStep, tuningOf } from "./steps/train.js";
import { validateStep } from "./steps/validate.js";
import type { PipelineDeps, PipelineLineage, PipelineOptions, PipelineResult, TrainingDataBytes } from "./types.js";

/** What a run reads before it starts: the suite, the data and its labels, and the lineage hashes. */
interface PipelineInputs {
  readonly suite?: { readonly parsed: ExpectationSuite; readonly json: unknown };
  readonly lineage: PipelineLineage;
  readonly frame: Frame;
  readonly labels: Float64Array;
  readonly trainingData: TrainingDataBytes;
}

/** The suite a definition names, as written (inline, or read from its file); parsed before any run starts. */
async function resolveSuite(def: PipelineDefinition, baseDir: string): Promise<unknown> {
  if (def.validate === undefined) return undefined;
  const ref = def.validate.suite;
  return typeof ref === "string" ? readSuiteFile(path.resolve(baseDir, ref), "validate.suite") : ref;
}

/** Input checks and hashing happen before a run exists: bad input leaves no trace. */
/**
 * The training rows and the exact bytes trained on: the data file, or the window's rows of it
 * written as CSV, or the feature service's point-in-time training set (Parquet).
 */
async function readData(
  def: PipelineDefinition,
  baseDir: string,
  deps: PipelineDeps,
  now: number,
): Promise<{
  frame: Frame;
  trainingData: TrainingDataBytes;
  lineage: Omit<PipelineLineage, "configHash" | "codeVersion">;
}> {
  if (def.trainingSet !== undefined) {
    const window = def.window === undefined ? undefined : { from: windowStart(def.window.last, now), to: now };
    const set = await readTrainingSet(def.trainingSet, baseDir, deps.features, def.idColumn, window);
    if (def.window !== undefined && set.frame.nRows === 0)
      throw specError("window.last", def.window.last, `leaves no rows of ${def.trainingSet.entityDf} before the run`);
    return {
      frame: set.frame,
      trainingData: { bytes: set.bytes, ext: ".parquet" },
      lineage: {
        dataHash: sha256Hex(set.bytes),
        dataPath: set.entityDfPath,
        featureService: def.trainingSet.featureService,
        featureRepoVersion: set.featureRepoVersion,
      },
    };
  }
  const dataPath = path.resolve(baseDir, def.data as string);
  let frame = await readTable(dataPath);
  let trainingData: TrainingDataBytes;
  if (def.window === undefined) {
    trainingData = { bytes: new Uint8Array(await readFile(dataPath)), ext: path.extname(dataPath).toLowerCase() };
  } else {
    frame = selectWindow(frame, def.window, now).frame;
    if (frame.nRows === 0)
      throw specError("window.last", def.window.last, `leaves no rows of ${def.data} before the run`);
    trainingData = { bytes: await csvBytes(frame), ext: ".csv" };
  }
  return { frame, trainingData, lineage: { dataHash: sha256Hex(trainingData.bytes), dataPath } };
}

type TrainingData = Awaited<ReturnType<typeof readData>>;

/**
 * The training data with the reviewed decisions appended (`reviewedDecisions`); the bytes kept with
 * the version are then the combined rows as CSV, so its data hash covers the verdicts too.
 */
async function withReviewedDecisions(
  def: PipelineDefinition,
  deps: PipelineDeps,
  now: number,
  data: TrainingData,
): Promise<TrainingData> {
  if (def.reviewedDecisions === undefined) return data;
  const reviewed = await readReviewedDecisions(def.reviewedDecisions, deps.decisions, now);
  const lineage = { ...data.lineage, reviewedDecisions: reviewed.lineage };
  if (reviewed.rows.length === 0) return { ...data, lineage };
  const frame = appendReviewedDecisions(data.frame, reviewed.rows, def.target, def.positive);
  const bytes = await csvBytes(frame);
  return { frame, trainingData: { bytes, ext: ".csv" }, lineage: { ...lineage, dataHash: sha256Hex(bytes) } };
}

async function readInputs(
  def: PipelineDefinition,
  baseDir: string,
  deps: PipelineDeps,
  options: PipelineOptions,
  now: number,
): Promise<PipelineInputs> {
  const suiteJson = await resolveSuite(def, baseDir);
  const suite = suiteJson === undefined ? undefined : { parsed: parseSuite(suiteJson), json: suiteJson };
  const resolved = { ...def, ...(suiteJson === undefined ? {} : { validate: { suite: suiteJson } }) };
  const configHash = canonicalHash(resolved);
  const codeVersion = options.codeVersion ?? (await gitCommit(baseDir));
  const data = await withReviewedDecisions(def, deps, now, await readData(def, baseDir, deps, now));
  const lineage: PipelineLineage = {
    ...data.lineage,
    configHash,
    ...(codeVersion === undefined ? {} : { codeVersion }),
  };
  const { frame, trainingData } = data;
  const target = prepareTarget(frame, def.target, def.positive === undefined ? {} : { positive: def.positive });
  if (target.task !== "binary") {
    throw new InvalidParameterError(
      `target ${def.target}: pipelines train binary classifiers; this target is numeric`,
      {
        details: { field: "target", value: def.target, rule: "two classes" },
      },
    );
  }
  return { ...(suite === undefined ? {} : { suite }), lineage, frame, labels: target.y, trainingData };
}

/** Reads a definition file and runs it; relative paths resolve against the file's directory. */
export async function runPipelineFile(
  file: string,
  deps: PipelineDeps,
  options: PipelineOptions = {},
): Promise<PipelineResult> {
  const definition = await readPipelineDefinition(file);
  return runPipeline(definition, deps, { baseDir: path.dirname(path.resolve(file)), ...options });
}

/**
 * Runs a pipeline. Resolves with status `failed` (and the run FAILED, nothing registered) when
 * validation, a gate or a behaviour test fails; throws on bad input (InvalidParameterError) or when
 * a store fails, after marking the run FAILED.
 */
export async function runPipeline(
  input: PipelineDefinition | PipelineDefinitionInput,
  deps: PipelineDeps,
  options: PipelineOptions = {},
): Promise<PipelineResult> {
  const def = parsePipelineDefinition(input);
  const inputs = await readInputs(def, path.resolve(options.baseDir ?? "."), deps, options, (deps.clock ?? Date.now)());
  const ctx = await openPipelineContext(def, deps, options, inputs);
  try {
    return await runSteps(ctx, inputs);
  } catch (e) {
    await abortRun(ctx, e);
    throw e;
  }
}

async function runSteps(ctx: PipelineContext, inputs: PipelineInputs): Promise<PipelineResult> {
  await logRunInputs(ctx);
  const validation = inputs.suite === undefined ? undefined : await validateStep(ctx, inputs.suite);
  if (validation === undefined) skipStep(ctx, "validate", "no suite declared");
  else if (!validation.passed) {
    const failure = lastStepMessage(ctx, "validation failed");
    return finishRun(ctx, "failed", { failedStep: "validate", failure, validation });
  }
  const split = await splitStep(ctx);
  const trained = await trainStep(ctx, split);
  const valid = validationRows(ctx, split);
  const evaluation = await evaluateStep(ctx, trained, split, valid);
  const gates = await gatesStep(ctx, evaluation, valid);
  // What every outcome from here on reports: the steps up to and including the gates.
  const throughGates = {
    ...(validation === undefined ? {} : { validation }),
    split: { trainRows: split.train.length, validRows: split.valid.length },
    metrics: evaluation.metrics,
    ...tuningOf(trained.summary),
    gates: gates.results,
  };
  if (!gates.passed) {
    const failure = lastStepMessage(ctx, "a gate failed");
    return finishRun(ctx, "failed", { failedStep: "gates", failure, ...throughGates });
  }
  let behaviour: BehaviourResult[] | undefined;
  if (ctx.def.behaviourTests.length === 0) skipStep(ctx, "behaviour", "no tests declared");
  else {
    const outcome = await behaviourStep(ctx, trained, split, valid);
    behaviour = outcome.results;
    if (!outcome.passed) {
      const failure = lastStepMessage(ctx, "a behaviour test failed");
      return finishRun(ctx, "failed", { failedStep: "behaviour", failure, ...throughGates, behaviour });
    }
  }
  const registered = await registerStep(ctx, trained, evaluation, split);
  return finishRun(ctx, "passed", { ...throughGates, ...(behaviour === undefined ? {} : { behaviour }), registered });
}

/** The run's parameters and its training dataset, as MLflow records a dataset input. */
async function logRunInputs(ctx: PipelineContext): Promise<void> {
  const { def, lineage } = ctx;
  await logParams(ctx, ctx.runId, {
    "pipeline.name": def.name,
    ...(def.data === undefined ? {} : { data: def.data }),
    ...(def.trainingSet === undefined
      ? {}
      : {
          "training_set.feature_service": def.trainingSet.featureService,
          "training_set.entity_df": def.trainingSet.entityDf,
          "feature_repo.version": lineage.featureRepoVersion ?? "",
        }),
    "data.rows": ctx.frame.nRows,
    target: def.target,
    model: def.train.model,
    split: JSON.stringify(def.split),
    threshold: def.evaluate.threshold,
    "register.model": def.register.model,
  });
  await ctx.tracking.logInputs(
    ctx.runId,
    [
      {
        tags: [{ key: "mlflow.data.context", value: "training" }],
        dataset: {
          name: path.basename(lineage.dataPath),
          digest: lineage.dataHash.slice(0, 36),
          sourceType: "local",
          source: lineage.dataPath,
        },
      },
    ],
    ctx.actor,
  );
}
