/**
 * The pipeline runner: validate → split → train (optionally tuned) → evaluate → gates → behaviour
 * tests → register. Every run is a tracking run with its lineage (data sha256, code commit,
 * config hash); every step and tuning trial is a child run. Deterministic steps are cached by the
 * hashes of their inputs. Anything that fails validation, a gate or a behaviour test fails the
 * run and registers nothing.
 */
import path from "node:path";
import type { Frame } from "../data/frame.js";
import { readTable } from "../data/io.js";
import { prepareTarget, takeRows } from "../data/roles.js";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import { KeelPredictor, parseKeelModel, serializeKeelModel, type KeelModel } from "../learn/keel-model.js";
import { loadPredictor } from "../learn/load-model.js";
import { evaluateBinary, type BinaryEvaluation } from "../learn/metrics.js";
import { trainModel, trainValidSplit } from "../learn/train.js";
import { tune, type ParamValue, type Trial } from "../learn/tuning.js";
import type { Lineage, ModelVersion, RegistryStore } from "../registry/types.js";
import { artifactFetcher } from "../registry/version-artifact.js";
import type { ArtifactStore } from "../tracking/index.js";
import { artifactStorePath } from "../tracking/artifact-uri.js";
import type { Actor, Metric, Param, Tag, TrackingStore } from "../tracking/types.js";
import {
  parseSuite,
  readSuiteFile,
  validateFrame,
  type ExpectationSuite,
  type ValidationReport,
} from "../validate/index.js";
import { runBehaviourTests, type BehaviourResult } from "./behaviour.js";
import {
  bytesFloat64,
  bytesInt32,
  bytesJson,
  createStepCache,
  float64Bytes,
  int32Bytes,
  jsonBytes,
  stepCacheKey,
} from "./cache.js";
import {
  canonicalHash,
  parsePipelineDefinition,
  readPipelineDefinition,
  sha256Hex,
  TUNING_METRICS,
  type PipelineDefinition,
  type PipelineDefinitionInput,
} from "./definition.js";
import { BINARY_METRICS, evaluateGates, type GateResult } from "./gates.js";
import { fileSha256, gitCommit } from "./lineage.js";
import { splitRows } from "./split.js";

export type StepName = "validate" | "split" | "train" | "evaluate" | "gates" | "behaviour" | "register";

export interface PipelineDeps {
  readonly tracking: TrackingStore;
  readonly registry: RegistryStore;
  readonly artifacts: ArtifactStore;
  /** Epoch milliseconds; default Date.now. */
  readonly clock?: () => number;
  /** Recorded as the runs' user and in the audit log. */
  readonly actor?: Actor;
}

export interface PipelineOptions {
  /** Directory the definition's relative paths resolve against; default the current directory. */
  readonly baseDir?: string;
  /** Reuse cached step outputs (default true); false recomputes every step (and refreshes the cache). */
  readonly cache?: boolean;
  /** The code version to record; default `git rev-parse HEAD` in `baseDir` (absent outside git). */
  readonly codeVersion?: string;
  /** Extra tags on the pipeline run (e.g. what triggered it). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Told when each step starts and ends (for progress output). */
  readonly onStep?: (event: StepEvent) => void;
  /**
   * Called once a new version is registered, with the training rows and the model (e.g. to
   * attach a reference profile for drift monitoring). Not called when a version is reused.
   */
  readonly onRegistered?: (registered: {
    readonly name: string;
    readonly version: string;
    readonly training: Frame;
    readonly model: KeelModel;
  }) => Promise<void>;
  /**
   * When a version of the model already holds this exact model (same checksum) trained from the
   * same data and config, report that version instead of registering a duplicate; no alias moves.
   */
  readonly reuseIdenticalVersion?: boolean;
}

export interface StepEvent {
  readonly step: StepName;
  readonly phase: "start" | "end";
  readonly status?: StepStatus;
  readonly cached?: boolean;
  readonly seconds?: number;
  readonly message?: string;
}

export type StepStatus = "passed" | "failed" | "skipped";

export interface StepRecord {
  readonly step: StepName;
  readonly status: StepStatus;
  /** The step's child run (absent for a skipped step). */
  readonly runId?: string;
  readonly cached: boolean;
  readonly seconds: number;
  readonly message: string;
}

export interface PipelineLineage {
  /** sha256 of the input data file. */
  readonly dataHash: string;
  readonly dataPath: string;
  /** sha256 of the canonical JSON of the resolved definition (suite inlined). */
  readonly configHash: string;
  /** git commit of the code, when the definition is in a git work tree. */
  readonly codeVersion?: string;
}

export interface PipelineResult {
  readonly status: "passed" | "failed";
  readonly pipeline: string;
  readonly runId: string;
  readonly experimentId: string;
  readonly failedStep?: StepName;
  /** One readable line naming what failed: the rule or gate, the observed value and the threshold. */
  readonly failure?: string;
  readonly lineage: PipelineLineage;
  readonly steps: readonly StepRecord[];
  readonly validation?: ValidationReport;
  readonly split?: { readonly trainRows: number; readonly validRows: number };
  /** Validation metrics of the trained model at the decision threshold. */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly tuning?: { readonly metric: string; readonly best: Trial; readonly trials: number };
  readonly gates?: readonly GateResult[];
  readonly behaviour?: readonly BehaviourResult[];
  readonly registered?: {
    readonly name: string;
    readonly version: string;
    readonly alias: string;
    readonly source: string;
    readonly checksum: string;
    /** True when an identical earlier version was reused (`reuseIdenticalVersion`). */
    readonly reused: boolean;
  };
}

/** What the train step stores next to the model (cached with it). */
interface TrainSummary {
  readonly params: Record<string, unknown>;
  readonly features: readonly string[];
  readonly tuning?: { metric: string; best: Trial; trials: Trial[] };
}

function metricsOf(e: BinaryEvaluation): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, f] of Object.entries(BINARY_METRICS)) {
    const v = f(e);
    if (Number.isFinite(v)) out[k] = v;
  }
  return out;
}

function paramText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function isNotFound(e: unknown): boolean {
  return e instanceof NotFoundError || (e as { code?: unknown } | null)?.code === "RESOURCE_DOES_NOT_EXIST";
}

/** The suite a definition names, as written (inline, or read from its file); parsed before any run starts. */
async function resolveSuite(def: PipelineDefinition, baseDir: string): Promise<unknown> {
  if (def.validate === undefined) return undefined;
  const ref = def.validate.suite;
  return typeof ref === "string" ? readSuiteFile(path.resolve(baseDir, ref), "validate.suite") : ref;
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
  const baseDir = path.resolve(options.baseDir ?? ".");
  const clock = deps.clock ?? Date.now;
  const actor = deps.actor ?? { userId: "pipeline" };
  const { tracking, registry, artifacts } = deps;
  const useCache = options.cache ?? true;
  const cache = createStepCache(artifacts);

  // Input checks and hashing happen before a run exists: bad input leaves no trace.
  const suiteJson = await resolveSuite(def, baseDir);
  const suite: ExpectationSuite | undefined = suiteJson === undefined ? undefined : parseSuite(suiteJson);
  const dataPath = path.resolve(baseDir, def.data);
  const dataHash = await fileSha256(dataPath);
  const resolved = { ...def, ...(suiteJson === undefined ? {} : { validate: { suite: suiteJson } }) };
  const configHash = canonicalHash(resolved);
  const codeVersion = options.codeVersion ?? (await gitCommit(baseDir));
  const lineage: PipelineLineage = {
    dataHash,
    dataPath,
    configHash,
    ...(codeVersion === undefined ? {} : { codeVersion }),
  };
  const frame = await readTable(dataPath);
  const target = prepareTarget(frame, def.target, def.positive === undefined ? {} : { positive: def.positive });
  if (target.task !== "binary") {
    throw new InvalidParameterError(
      `target ${def.target}: pipelines train binary classifiers; this target is numeric`,
      {
        details: { field: "target", value: def.target, rule: "two classes" },
      },
    );
  }

  let experimentId: string;
  try {
    experimentId = (await tracking.getExperimentByName(def.experiment)).experimentId;
  } catch (e) {
    if (!isNotFound(e)) throw e;
    experimentId = await tracking.createExperiment(def.experiment, undefined, [], actor);
  }
  const lineageTags: Tag[] = [
    { key: "keel.pipeline", value: def.name },
    { key: "keel.data_sha256", value: dataHash },
    { key: "keel.config_sha256", value: configHash },
    ...(codeVersion === undefined ? [] : [{ key: "mlflow.source.git.commit", value: codeVersion }]),
  ];
  const parent = await tracking.createRun(
    {
      experimentId,
      runName: def.name,
      userId: actor.userId,
      startTime: clock(),
      tags: [
        ...lineageTags,
        { key: "mlflow.source.type", value: "PIPELINE" },
        ...Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value })),
      ],
    },
    actor,
  );
  const runId = parent.info.runId;
  const steps: StepRecord[] = [];
  const cachedSteps: StepName[] = [];

  const metric = (key: string, value: number, step = 0): Metric => ({ key, value, step, timestamp: clock() });
  const logMetrics = async (id: string, values: Readonly<Record<string, number>>) => {
    const metrics = Object.entries(values)
      .filter(([, v]) => Number.isFinite(v))
      .map(([k, v]) => metric(k, v));
    for (let i = 0; i < metrics.length; i += 1000)
      await tracking.logBatch(id, { metrics: metrics.slice(i, i + 1000) }, actor);
  };
  const logParams = async (id: string, values: Readonly<Record<string, unknown>>) => {
    const params: Param[] = Object.entries(values)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => ({ key, value: paramText(v).slice(0, 6000) }));
    for (let i = 0; i < params.length; i += 100)
      await tracking.logBatch(id, { params: params.slice(i, i + 100) }, actor);
  };
  const logArtifact = async (artifactUri: string, rel: string, bytes: Uint8Array) =>
    artifacts.putFile(`${artifactStorePath(artifactUri)}/${rel}`, bytes);

  /** A child run of `parentId`, as MLflow nests runs. */
  const childRun = async (parentId: string, name: string, tags: readonly Tag[]) =>
    tracking.createRun(
      {
        experimentId,
        runName: name,
        userId: actor.userId,
        startTime: clock(),
        tags: [{ key: "mlflow.parentRunId", value: parentId }, ...tags],
      },
      actor,
    );

  /**
   * Runs one step as a child run. `body` returns the step's status and message; the child run
   * ends FINISHED or FAILED accordingly (FAILED too when `body` throws).
   */
  const step = async <T>(
    name: StepName,
    cacheKey: string | undefined,
    body: (child: { runId: string; artifactUri: string }) => Promise<{
      value: T;
      status: StepStatus;
      message: string;
      cached: boolean;
    }>,
  ): Promise<T> => {
    const started = clock();
    options.onStep?.({ step: name, phase: "start" });
    const child = await childRun(runId, name, [
      { key: "keel.step", value: name },
      ...(cacheKey === undefined ? [] : [{ key: "keel.cache_key", value: cacheKey }]),
    ]);
    const childId = child.info.runId;
    try {
      const out = await body({ runId: childId, artifactUri: child.info.artifactUri });
      await tracking.setTag(childId, { key: "keel.cached", value: String(out.cached) }, actor);
      if (out.cached) cachedSteps.push(name);
      await tracking.updateRun(
        childId,
        { status: out.status === "failed" ? "FAILED" : "FINISHED", endTime: clock() },
        actor,
      );
      const seconds = (clock() - started) / 1000;
      steps.push({ step: name, status: out.status, runId: childId, cached: out.cached, seconds, message: out.message });
      options.onStep?.({
        step: name,
        phase: "end",
        status: out.status,
        cached: out.cached,
        seconds,
        message: out.message,
      });
      return out.value;
    } catch (e) {
      await tracking.updateRun(childId, { status: "FAILED", endTime: clock() }, actor);
      throw e;
    }
  };

  const finish = async (
    status: "passed" | "failed",
    extra: Omit<PipelineResult, "status" | "pipeline" | "runId" | "experimentId" | "lineage" | "steps">,
  ): Promise<PipelineResult> => {
    const tags: Tag[] = [{ key: "keel.cached_steps", value: cachedSteps.join(",") }];
    if (extra.failedStep !== undefined) tags.push({ key: "keel.failed_step", value: extra.failedStep });
    if (extra.failure !== undefined) tags.push({ key: "keel.failure", value: extra.failure.slice(0, 5000) });
    await tracking.logBatch(runId, { tags }, actor);
    await tracking.updateRun(runId, { status: status === "passed" ? "FINISHED" : "FAILED", endTime: clock() }, actor);
    return { status, pipeline: def.name, runId, experimentId, lineage, steps, ...extra };
  };

  try {
    await logParams(runId, {
      "pipeline.name": def.name,
      data: def.data,
      "data.rows": frame.nRows,
      target: def.target,
      model: def.train.model,
      split: JSON.stringify(def.split),
      threshold: def.evaluate.threshold,
      "register.model": def.register.model,
    });
    await tracking.logInputs(
      runId,
      [
        {
          tags: [{ key: "mlflow.data.context", value: "training" }],
          dataset: {
            name: path.basename(dataPath),
            digest: dataHash.slice(0, 36),
            sourceType: "local",
            source: dataPath,
          },
        },
      ],
      actor,
    );

    // validate
    let validation: ValidationReport | undefined;
    if (suite !== undefined) {
      const key = stepCacheKey("validate", { data: dataHash, suite: suiteJson });
      validation = await step("validate", key, async (child) => {
        let report: ValidationReport;
        let cached = false;
        const hit = useCache ? await cache.get("validate", key, ["report.json"]) : undefined;
        if (hit !== undefined) {
          report = bytesJson(hit.get("report.json") as Uint8Array) as ValidationReport;
          cached = true;
        } else {
          report = validateFrame(frame, suite);
          await cache.put("validate", key, new Map([["report.json", jsonBytes(report)]]));
        }
        await logArtifact(child.artifactUri, "validation/report.json", jsonBytes(report));
        const failed = report.results.filter((r) => !r.passed);
        await logMetrics(child.runId, { expectations: report.results.length, failed_expectations: failed.length });
        const message = report.passed
          ? `${report.results.length} expectations passed`
          : `validation failed: ${failed.map((r) => r.message).join("; ")}`;
        return { value: report, status: report.passed ? "passed" : "failed", message, cached };
      });
      if (!validation.passed) {
        const failure = steps[steps.length - 1]?.message ?? "validation failed";
        return await finish("failed", { failedStep: "validate", failure, validation });
      }
    } else {
      steps.push({ step: "validate", status: "skipped", cached: false, seconds: 0, message: "no suite declared" });
    }

    // split
    const splitKey = stepCacheKey("split", {
      data: dataHash,
      split: def.split,
      target: def.target,
      positive: def.positive ?? null,
    });
    const split = await step("split", splitKey, async (child) => {
      let train: Int32Array;
      let valid: Int32Array;
      let time: { cutoff: number; trainMax: number; validMin: number } | undefined;
      let cached = false;
      const hit = useCache ? await cache.get("split", splitKey, ["train.i32", "valid.i32", "split.json"]) : undefined;
      if (hit !== undefined) {
        train = bytesInt32(hit.get("train.i32") as Uint8Array);
        valid = bytesInt32(hit.get("valid.i32") as Uint8Array);
        time = (bytesJson(hit.get("split.json") as Uint8Array) as { time?: typeof time }).time;
        cached = true;
      } else {
        const s = splitRows(frame, def.split, target.y);
        train = s.train;
        valid = s.valid;
        time = s.time;
        await cache.put(
          "split",
          splitKey,
          new Map([
            ["train.i32", int32Bytes(train)],
            ["valid.i32", int32Bytes(valid)],
            ["split.json", jsonBytes({ time })],
          ]),
        );
      }
      const hash = sha256Hex(`${sha256Hex(int32Bytes(train))}:${sha256Hex(int32Bytes(valid))}`);
      await logMetrics(child.runId, {
        train_rows: train.length,
        valid_rows: valid.length,
        ...(time === undefined
          ? {}
          : { time_cutoff: time.cutoff, train_time_max: time.trainMax, valid_time_min: time.validMin }),
      });
      await tracking.setTag(child.runId, { key: "keel.split_sha256", value: hash }, actor);
      return {
        value: { train, valid, hash },
        status: "passed",
        message: `${train.length} training rows, ${valid.length} validation rows`,
        cached,
      };
    });

    // train
    const exclude = def.split.kind === "time" ? [...new Set([...def.exclude, def.split.column])] : [...def.exclude];
    const trainSetup = {
      target: def.target,
      ...(def.positive === undefined ? {} : { positive: def.positive }),
      ...(def.idColumn === undefined ? {} : { idColumn: def.idColumn }),
      exclude,
    };
    const trainKey = stepCacheKey("train", {
      data: dataHash,
      split: split.hash,
      setup: trainSetup,
      train: def.train,
    });
    const trained = await step("train", trainKey, async (child) => {
      const hit = useCache ? await cache.get("train", trainKey, ["model.json", "train.json"]) : undefined;
      let modelBytes: Uint8Array;
      let summary: TrainSummary;
      let cached = false;
      if (hit !== undefined) {
        modelBytes = hit.get("model.json") as Uint8Array;
        summary = bytesJson(hit.get("train.json") as Uint8Array) as TrainSummary;
        cached = true;
      } else {
        let params: Record<string, unknown> = { ...def.train.params };
        let tuning: TrainSummary["tuning"];
        const spec = def.train.tuning;
        if (spec !== undefined) {
          // Trials validate on a holdout carved from the training rows: the validation part stays
          // unseen until the gates, so the gates do not grade a model selected on them.
          const inner = trainValidSplit(split.train.length, spec.holdoutFraction, spec.seed);
          const rows = {
            train: Int32Array.from(inner.train, (i) => split.train[i] as number),
            valid: Int32Array.from(inner.valid, (i) => split.train[i] as number),
          };
          const direction = TUNING_METRICS[spec.metric];
          const fixed = params;
          const result = await tune(
            spec.space,
            async (trialParams: Record<string, ParamValue>, index: number) => {
              const trialRun = await childRun(child.runId, `trial-${index}`, [
                { key: "keel.step", value: "train" },
                { key: "keel.trial", value: String(index) },
              ]);
              try {
                const r = await trainModel(frame, {
                  ...trainSetup,
                  model: def.train.model,
                  params: { ...fixed, ...trialParams },
                  rows,
                });
                const value = r.metrics[spec.metric];
                await logParams(trialRun.info.runId, trialParams);
                await logMetrics(trialRun.info.runId, r.metrics);
                await tracking.updateRun(trialRun.info.runId, { status: "FINISHED", endTime: clock() }, actor);
                if (value === undefined || !Number.isFinite(value)) {
                  throw new InvalidParameterError(
                    `train.tuning.metric ${spec.metric}: trial ${index} has no finite value`,
                  );
                }
                return value;
              } catch (e) {
                await tracking.updateRun(trialRun.info.runId, { status: "FAILED", endTime: clock() }, actor);
                throw e;
              }
            },
            { trials: spec.trials, direction, seed: spec.seed },
          );
          params = { ...fixed, ...result.best.params };
          tuning = { metric: spec.metric, best: result.best, trials: result.trials };
        }
        const r = await trainModel(frame, {
          ...trainSetup,
          model: def.train.model,
          params,
          rows: { train: split.train, valid: split.valid },
        });
        modelBytes = new TextEncoder().encode(serializeKeelModel(r.model));
        summary = {
          params: { ...r.model.params },
          features: r.roles.features,
          ...(tuning === undefined ? {} : { tuning }),
        };
        await cache.put(
          "train",
          trainKey,
          new Map([
            ["model.json", modelBytes],
            ["train.json", jsonBytes(summary)],
          ]),
        );
      }
      const model = parseKeelModel(JSON.parse(new TextDecoder().decode(modelBytes)));
      await logParams(child.runId, summary.params);
      await logArtifact(child.artifactUri, "model/model.json", modelBytes);
      if (summary.tuning !== undefined) {
        await logParams(child.runId, {
          "tuning.metric": summary.tuning.metric,
          "tuning.trials": summary.tuning.trials.length,
          "tuning.best_trial": summary.tuning.best.index,
        });
        await logMetrics(child.runId, { [`tuning.best_${summary.tuning.metric}`]: summary.tuning.best.value });
      }
      return {
        value: { model, modelBytes, modelHash: sha256Hex(modelBytes), summary },
        status: "passed",
        message: `${model.model_type} on ${summary.features.length} features${
          summary.tuning === undefined ? "" : `, tuned over ${summary.tuning.trials.length} trials`
        }`,
        cached,
      };
    });
    // The parent carries the parameters the registered model was trained with, tuned ones included.
    await logParams(
      runId,
      Object.fromEntries(Object.entries(trained.summary.params).map(([k, v]) => [`param.${k}`, v])),
    );
    if (trained.summary.tuning !== undefined) {
      await logParams(runId, {
        "tuning.best_trial": trained.summary.tuning.best.index,
        ...Object.fromEntries(Object.entries(trained.summary.tuning.best.params).map(([k, v]) => [`best.${k}`, v])),
      });
    }

    // evaluate
    const validFrame = takeRows(frame, split.valid);
    const yValid = Float64Array.from(split.valid, (i) => target.y[i] as number);
    const threshold = def.evaluate.threshold;
    const evalKey = stepCacheKey("evaluate", {
      model: trained.modelHash,
      data: dataHash,
      split: split.hash,
      threshold,
    });
    const evaluation = await step("evaluate", evalKey, async (child) => {
      const hit = useCache ? await cache.get("evaluate", evalKey, ["scores.f64", "metrics.json"]) : undefined;
      let scores: Float64Array;
      let metrics: Record<string, number>;
      let cached = false;
      if (hit !== undefined) {
        scores = bytesFloat64(hit.get("scores.f64") as Uint8Array);
        metrics = bytesJson(hit.get("metrics.json") as Uint8Array) as Record<string, number>;
        cached = true;
      } else {
        const predictor = new KeelPredictor(trained.model);
        try {
          scores = await predictor.predict(validFrame);
        } finally {
          await predictor.close();
        }
        metrics = metricsOf(evaluateBinary(yValid, scores, threshold));
        await cache.put(
          "evaluate",
          evalKey,
          new Map([
            ["scores.f64", float64Bytes(scores)],
            ["metrics.json", jsonBytes(metrics)],
          ]),
        );
      }
      await logMetrics(child.runId, metrics);
      return {
        value: { scores, metrics },
        status: "passed",
        message: `AUC ${(metrics.auc ?? NaN).toFixed(4)}, KS ${(metrics.ks ?? NaN).toFixed(4)}, FNR ${(metrics.fnr ?? NaN).toFixed(4)} at threshold ${threshold}`,
        cached,
      };
    });
    await logMetrics(runId, evaluation.metrics);

    // gates
    const gateOutcome = await step("gates", undefined, async (child) => {
      const segments: Record<string, (string | null)[]> = {};
      for (const g of def.gates) {
        if (g.gate === "demographic_parity") segments[g.segment] = segmentValues(validFrame, g.segment);
      }
      const champion = await championAuc(
        { registry, tracking, artifacts },
        def.register.model,
        validFrame,
        yValid,
        def.gates.some((g) => g.gate === "auc_vs_champion"),
      );
      const out = evaluateGates(def.gates, {
        labels: yValid,
        scores: evaluation.scores,
        threshold,
        segments,
        ...(champion.auc === undefined ? {} : { championAuc: champion.auc }),
      });
      let results = out.results;
      if (champion.error !== undefined) {
        results = results.map((r) =>
          r.gate === "auc_vs_champion"
            ? { ...r, passed: false, skipped: false, message: `gate auc_vs_champion failed: ${champion.error}` }
            : r,
        );
      }
      const passed = results.every((r) => r.passed || r.skipped);
      const gateMetrics: Record<string, number> = {};
      for (const r of results) if (r.observed !== null) gateMetrics[`gate.${r.gate}`] = r.observed;
      await logMetrics(child.runId, gateMetrics);
      await logArtifact(child.artifactUri, "gates.json", jsonBytes(results));
      if (champion.version !== undefined) {
        await tracking.setTag(child.runId, { key: "keel.champion_version", value: champion.version }, actor);
      }
      const failed = results.filter((r) => !r.passed && !r.skipped);
      return {
        value: { passed, results },
        status: passed ? "passed" : "failed",
        message: passed
          ? `${results.filter((r) => r.passed).length} gates passed, ${results.filter((r) => r.skipped).length} skipped`
          : failed.map((r) => r.message).join("; "),
        cached: false,
      };
    });
    // What every outcome from here on reports: the steps up to and including the gates.
    const throughGates = {
      ...(validation === undefined ? {} : { validation }),
      split: { trainRows: split.train.length, validRows: split.valid.length },
      metrics: evaluation.metrics,
      ...tuningOf(trained.summary),
      gates: gateOutcome.results,
    };
    if (!gateOutcome.passed) {
      return await finish("failed", {
        failedStep: "gates",
        failure: steps[steps.length - 1]?.message ?? "a gate failed",
        ...throughGates,
      });
    }

    // behaviour tests
    let behaviour: BehaviourResult[] | undefined;
    if (def.behaviourTests.length > 0) {
      const key = stepCacheKey("behaviour", {
        model: trained.modelHash,
        data: dataHash,
        split: split.hash,
        tests: def.behaviourTests,
        seed: def.behaviourSeed,
      });
      const outcome = await step("behaviour", key, async (child) => {
        const hit = useCache ? await cache.get("behaviour", key, ["results.json"]) : undefined;
        let results: BehaviourResult[];
        let cached = false;
        if (hit !== undefined) {
          results = bytesJson(hit.get("results.json") as Uint8Array) as BehaviourResult[];
          cached = true;
        } else {
          const predictor = new KeelPredictor(trained.model);
          try {
            results = (
              await runBehaviourTests(def.behaviourTests, (f) => predictor.predict(f), validFrame, {
                seed: def.behaviourSeed,
              })
            ).results;
          } finally {
            await predictor.close();
          }
          await cache.put("behaviour", key, new Map([["results.json", jsonBytes(results)]]));
        }
        await logArtifact(child.artifactUri, "behaviour.json", jsonBytes(results));
        await logMetrics(child.runId, {
          behaviour_tests: results.length,
          behaviour_failures: results.filter((r) => !r.passed).length,
        });
        const passed = results.every((r) => r.passed);
        return {
          value: { passed, results },
          status: passed ? "passed" : "failed",
          message: passed
            ? `${results.length} of ${results.length} behaviour tests passed`
            : results
                .filter((r) => !r.passed)
                .map((r) => r.message)
                .join("; "),
          cached,
        };
      });
      behaviour = outcome.results;
      if (!outcome.passed) {
        return await finish("failed", {
          failedStep: "behaviour",
          failure: steps[steps.length - 1]?.message ?? "a behaviour test failed",
          ...throughGates,
          behaviour,
        });
      }
    } else {
      steps.push({ step: "behaviour", status: "skipped", cached: false, seconds: 0, message: "no tests declared" });
    }

    // register
    const registered = await step("register", undefined, async (child) => {
      const identical =
        options.reuseIdenticalVersion === true
          ? await findIdenticalVersion(registry, def.register.model, trained.modelHash, dataHash, configHash)
          : undefined;
      if (identical !== undefined) {
        await tracking.logBatch(
          child.runId,
          {
            tags: [
              { key: "keel.registered_model", value: identical.name },
              { key: "keel.registered_version", value: identical.version },
              { key: "keel.reused_version", value: "true" },
            ],
          },
          actor,
        );
        return {
          value: {
            name: identical.name,
            version: identical.version,
            alias: def.register.alias,
            source: identical.source,
            checksum: trained.modelHash,
            reused: true,
          },
          status: "passed",
          message: `${identical.name} version ${identical.version} holds this exact model, data and config; reused`,
          cached: false,
        };
      }
      await logArtifact(parent.info.artifactUri, "model/model.json", trained.modelBytes);
      const source = `runs:/${runId}/model`;
      const versionLineage: Lineage = {
        dataHash,
        configHash,
        ...(codeVersion === undefined ? {} : { codeVersion }),
        sourceRunId: runId,
        dataPath,
      };
      const mv = await registry.createModelVersion(
        {
          name: def.register.model,
          source,
          runId,
          description: `pipeline ${def.name}`,
          tags: [
            { key: "keel.pipeline", value: def.name },
            ...Object.entries(evaluation.metrics)
              .filter(([k]) => k === "auc" || k === "ks" || k === "fnr")
              .map(([k, v]) => ({ key: `keel.metric.${k}`, value: String(v) })),
          ],
          checksum: trained.modelHash,
          signature: trained.model.signature,
          lineage: versionLineage,
        },
        actor,
      );
      await registry.setAlias(mv.name, def.register.alias, mv.version, actor);
      await options.onRegistered?.({
        name: mv.name,
        version: mv.version,
        training: takeRows(frame, split.train),
        model: trained.model,
      });
      await tracking.logBatch(
        child.runId,
        {
          tags: [
            { key: "keel.registered_model", value: mv.name },
            { key: "keel.registered_version", value: mv.version },
          ],
        },
        actor,
      );
      return {
        value: {
          name: mv.name,
          version: mv.version,
          alias: def.register.alias,
          source,
          checksum: trained.modelHash,
          reused: false,
        },
        status: "passed",
        message: `registered ${mv.name} version ${mv.version} as ${def.register.alias}`,
        cached: false,
      };
    });
    await tracking.logBatch(
      runId,
      {
        tags: [
          { key: "keel.registered_model", value: registered.name },
          { key: "keel.registered_version", value: registered.version },
        ],
      },
      actor,
    );
    return await finish("passed", {
      ...throughGates,
      ...(behaviour === undefined ? {} : { behaviour }),
      registered,
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    await tracking.logBatch(runId, { tags: [{ key: "keel.error", value: message.slice(0, 5000) }] }, actor);
    await tracking.updateRun(runId, { status: "FAILED", endTime: clock() }, actor);
    throw e;
  }
}

async function findIdenticalVersion(
  registry: RegistryStore,
  name: string,
  checksum: string,
  dataHash: string,
  configHash: string,
): Promise<ModelVersion | undefined> {
  let pageToken: string | undefined;
  do {
    const page = await registry.searchModelVersions({
      filter: `name = '${name.replaceAll("'", "''")}'`,
      maxResults: 200,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    const hit = page.items.find(
      (v) =>
        v.checksum === checksum &&
        v.lineage?.dataHash === dataHash &&
        v.lineage.configHash === configHash &&
        v.status === "READY",
    );
    if (hit !== undefined) return hit;
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return undefined;
}

function tuningOf(summary: TrainSummary): Pick<PipelineResult, "tuning"> {
  return summary.tuning === undefined
    ? {}
    : { tuning: { metric: summary.tuning.metric, best: summary.tuning.best, trials: summary.tuning.trials.length } };
}

/** A segment column's values on the given rows, as strings (null where missing). */
function segmentValues(frame: Frame, column: string): (string | null)[] {
  const col = frame.columns.find((c) => c.name === column);
  if (col === undefined) {
    throw new InvalidParameterError(`gates: segment column ${column} does not exist`, {
      details: { field: "gates.segment", value: column, rule: "must be a column of the data" },
    });
  }
  const out: (string | null)[] = new Array<string | null>(frame.nRows);
  if (col.kind === "categorical") {
    for (let i = 0; i < frame.nRows; i++) {
      const k = col.codes[i] as number;
      out[i] = k < 0 ? null : (col.dictionary[k] as string);
    }
  } else {
    for (let i = 0; i < frame.nRows; i++) {
      const v = col.values[i] as number;
      out[i] = v !== v ? null : String(v);
    }
  }
  return out;
}

/**
 * The current champion's AUC on this run's validation rows, so the new model is compared on the
 * same rows. No champion: no AUC. A champion that cannot score these rows is reported as an error.
 */
async function championAuc(
  stores: { registry: RegistryStore; tracking: TrackingStore; artifacts: ArtifactStore },
  model: string,
  validFrame: Frame,
  yValid: Float64Array,
  wanted: boolean,
): Promise<{ auc?: number; version?: string; error?: string }> {
  if (!wanted) return {};
  let champion: ModelVersion;
  try {
    champion = await stores.registry.getVersionByAlias(model, "champion");
  } catch (e) {
    if (isNotFound(e)) return {};
    throw e;
  }
  try {
    const bytes = await artifactFetcher({
      artifacts: stores.artifacts,
      runArtifactUri: async (id) => (await stores.tracking.getRun(id)).info.artifactUri,
    })(champion);
    const predictor = await loadPredictor(bytes);
    try {
      const scores = await predictor.predict(validFrame);
      return { auc: evaluateBinary(yValid, scores).auc, version: champion.version };
    } finally {
      await predictor.close();
    }
  } catch (e) {
    return {
      version: champion.version,
      error: `champion ${model} version ${champion.version} cannot score the validation rows (${
        e instanceof Error ? e.message : String(e)
      })`,
    };
  }
}

