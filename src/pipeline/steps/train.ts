/**
 * The train step: the model trained on the training rows, with its hyper-parameters tuned first
 * when the definition asks (each trial a child run of the step's run).
 */
import { InvalidParameterError } from "../../errors.js";
import {
  parseKeelModel,
  serializeKeelModel,
  type KeelModel,
  trainModel,
  trainValidSplit,
  type TrainOptions,
  tune,
  type ParamValue,
  type Trial,
} from "../../learn/index.js";
import { bytesJson, jsonBytes } from "../cache.js";
import {
  childRun,
  endRun,
  logArtifact,
  logMetrics,
  logParams,
  type ChildRun,
  type PipelineContext,
} from "../context.js";
import { sha256Hex, TUNING_METRICS, type TuningSpec } from "../definition.js";
import { cachedFile, runCachedStep } from "../step-cache.js";
import type { PipelineResult } from "../types.js";
import type { SplitRows } from "./split.js";

/** What the train step stores next to the model (cached with it). */
export interface TrainSummary {
  readonly params: Record<string, unknown>;
  readonly features: readonly string[];
  readonly tuning?: { metric: string; best: Trial; trials: Trial[] };
}

export interface TrainedModel {
  readonly model: KeelModel;
  /** The model file as registered, and its sha256. */
  readonly modelBytes: Uint8Array;
  readonly modelHash: string;
  readonly summary: TrainSummary;
}

interface TrainOutput {
  readonly modelBytes: Uint8Array;
  readonly summary: TrainSummary;
}

/** How the data's columns are used: everything but the target, the id, the weights, excluded and time columns. */
type TrainSetup = Pick<TrainOptions, "target" | "positive" | "idColumn" | "exclude" | "weightColumn">;

function trainSetupOf(ctx: PipelineContext): TrainSetup {
  const { def } = ctx;
  // Time columns place rows in time; they are not features (a training set has dropped its event time already).
  const exclude = [
    ...new Set([
      ...def.exclude,
      ...(def.split.kind === "time" ? [def.split.column] : []),
      ...(def.window === undefined || def.trainingSet !== undefined ? [] : [def.window.column]),
    ]),
  ];
  return {
    target: def.target,
    ...(def.positive === undefined ? {} : { positive: def.positive }),
    ...(def.idColumn === undefined ? {} : { idColumn: def.idColumn }),
    ...(def.train.weightColumn === undefined ? {} : { weightColumn: def.train.weightColumn }),
    exclude,
  };
}

export async function trainStep(ctx: PipelineContext, split: SplitRows): Promise<TrainedModel> {
  const setup = trainSetupOf(ctx);
  const trained = await runCachedStep(ctx, {
    step: "train",
    inputs: { data: ctx.lineage.dataHash, split: split.hash, setup, train: ctx.def.train },
    codec: {
      files: ["model.json", "train.json"],
      encode: ({ modelBytes, summary }: TrainOutput) =>
        new Map([
          ["model.json", modelBytes],
          ["train.json", jsonBytes(summary)],
        ]),
      decode: (files) => ({
        modelBytes: cachedFile(files, "model.json"),
        summary: bytesJson(cachedFile(files, "train.json")) as TrainSummary,
      }),
    },
    compute: (child) => trainOnSplit(ctx, setup, split, child),
    report: async ({ modelBytes, summary }, child) => {
      const model = parseKeelModel(JSON.parse(new TextDecoder().decode(modelBytes)));
      await logParams(ctx, child.runId, summary.params);
      await logArtifact(ctx, child.artifactUri, "model/model.json", modelBytes);
      if (summary.tuning !== undefined) {
        await logParams(ctx, child.runId, {
          "tuning.metric": summary.tuning.metric,
          "tuning.trials": summary.tuning.trials.length,
          "tuning.best_trial": summary.tuning.best.index,
        });
        await logMetrics(ctx, child.runId, { [`tuning.best_${summary.tuning.metric}`]: summary.tuning.best.value });
      }
      return {
        value: { model, modelBytes, modelHash: sha256Hex(modelBytes), summary },
        status: "passed",
        message: `${model.model_type} on ${summary.features.length} features${
          summary.tuning === undefined ? "" : `, tuned over ${summary.tuning.trials.length} trials`
        }`,
      };
    },
  });
  // The parent carries the parameters the registered model was trained with, tuned ones included.
  const { params, tuning } = trained.summary;
  await logParams(ctx, ctx.runId, Object.fromEntries(Object.entries(params).map(([k, v]) => [`param.${k}`, v])));
  if (tuning !== undefined) {
    await logParams(ctx, ctx.runId, {
      "tuning.best_trial": tuning.best.index,
      ...Object.fromEntries(Object.entries(tuning.best.params).map(([k, v]) => [`best.${k}`, v])),
    });
  }
  return trained;
}

async function trainOnSplit(
  ctx: PipelineContext,
  setup: TrainSetup,
  split: SplitRows,
  child: ChildRun,
): Promise<TrainOutput> {
  const spec = ctx.def.train.tuning;
  const tuned = spec === undefined ? undefined : await tuneParams(ctx, setup, split, spec, child);
  const r = await trainModel(ctx.frame, {
    ...setup,
    model: ctx.def.train.model,
    params: tuned?.params ?? { ...ctx.def.train.params },
    rows: { train: split.train, valid: split.valid },
  });
  return {
    modelBytes: new TextEncoder().encode(serializeKeelModel(r.model)),
    summary: {
      params: { ...r.model.params },
      features: r.roles.features,
      ...(tuned === undefined ? {} : { tuning: tuned.tuning }),
    },
  };
}

/**
 * Searches the definition's parameter space. Trials validate on a holdout carved from the
 * training rows: the validation part stays unseen until the gates, so the gates do not grade a
 * model selected on them.
 */
async function tuneParams(
  ctx: PipelineContext,
  setup: TrainSetup,
  split: SplitRows,
  spec: TuningSpec,
  child: ChildRun,
): Promise<{ params: Record<string, unknown>; tuning: NonNullable<TrainSummary["tuning"]> }> {
  const inner = trainValidSplit(split.train.length, spec.holdoutFraction, spec.seed);
  const rows = {
    train: Int32Array.from(inner.train, (i) => split.train[i] as number),
    valid: Int32Array.from(inner.valid, (i) => split.train[i] as number),
  };
  const fixed: Record<string, unknown> = { ...ctx.def.train.params };
  const trial = async (trialParams: Record<string, ParamValue>, index: number): Promise<number> => {
    const trialRun = await childRun(ctx, child.runId, `trial-${index}`, [
      { key: "keel.step", value: "train" },
      { key: "keel.trial", value: String(index) },
    ]);
    try {
      const r = await trainModel(ctx.frame, {
        ...setup,
        model: ctx.def.train.model,
        params: { ...fixed, ...trialParams },
        rows,
      });
      const value = r.metrics[spec.metric];
      await logParams(ctx, trialRun.runId, trialParams);
      await logMetrics(ctx, trialRun.runId, r.metrics);
      // Checked before the run ends: a trial without a value ends FAILED once, not FINISHED then FAILED.
      if (value === undefined || !Number.isFinite(value)) {
        throw new InvalidParameterError(`train.tuning.metric ${spec.metric}: trial ${index} has no finite value`);
      }
      await endRun(ctx, trialRun.runId, "FINISHED");
      return value;
    } catch (e) {
      await endRun(ctx, trialRun.runId, "FAILED");
      throw e;
    }
  };
  const result = await tune(spec.space, trial, {
    trials: spec.trials,
    direction: TUNING_METRICS[spec.metric],
    seed: spec.seed,
  });
  return {
    params: { ...fixed, ...result.best.params },
    tuning: { metric: spec.metric, best: result.best, trials: result.trials },
  };
}

/** The tuning summary a result reports, when the model was tuned. */
export function tuningOf(summary: TrainSummary): Pick<PipelineResult, "tuning"> {
  return summary.tuning === undefined
    ? {}
    : { tuning: { metric: summary.tuning.metric, best: summary.tuning.best, trials: summary.tuning.trials.length } };
}
