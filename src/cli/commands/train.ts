import type { Clock } from "../../runtime/index.js";
import { resolve } from "node:path";
import type { Command } from "commander";
import { readTable } from "../../data/index.js";
import { InvalidParameterError, NotFoundError } from "../../errors.js";
import { saveKeelModel, serializeKeelModel, trainModel } from "../../learn/index.js";
import type { TrainResult } from "../../learn/index.js";
import type { ArtifactStore } from "../../store/index.js";
import type { Metric, Param, TrackingStore } from "../../tracking/index.js";
import { ARTIFACTS_SCHEME, artifactStorePath } from "../../tracking/index.js";
import { withStores } from "../stores.js";
import { configFor, print, table } from "../context.js";
import type { CliContext } from "../context.js";

interface TrainFlags {
  data: string;
  target: string;
  model: string;
  param: string[];
  validFraction: string;
  positive?: string;
  idColumn?: string;
  exclude?: string;
  out: string;
  experiment?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `key=value` pairs; a repeated key is an error (which one was meant?). */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) {
      throw new InvalidParameterError(`--param "${p}": must be key=value`, {
        details: { field: "param", value: p, rule: "key=value" },
      });
    }
    const k = p.slice(0, i).trim();
    if (k in out) {
      throw new InvalidParameterError(`--param ${k}: given twice`, {
        details: { field: "param", value: k, rule: "each key once" },
      });
    }
    out[k] = p.slice(i + 1).trim();
  }
  return out;
}

/** MLflow's limit per log-batch call. */
const BATCH = 1000;

/** The store path of a run artifact: `mlflow-artifacts:/<exp>/<run>/artifacts` + `/rel`. */
function runArtifactPath(artifactUri: string, experimentId: string, runId: string, rel: string): string {
  const base = artifactUri.startsWith(ARTIFACTS_SCHEME)
    ? artifactStorePath(artifactUri)
    : `${experimentId}/${runId}/artifacts`;
  return `${base}/${rel}`;
}

/**
 * Logs a finished training run: params (the trainer's resolved parameters and the data set-up),
 * per-iteration validation metrics, final validation metrics, and the model as artifact
 * `model/model.json`. The run ends FINISHED, or FAILED if logging breaks half-way.
 */
export async function logTrainingRun(
  stores: { readonly tracking: TrackingStore; readonly artifacts: ArtifactStore },
  input: {
    readonly experiment: string;
    readonly result: TrainResult;
    readonly setup: Readonly<Record<string, string>>;
    readonly startTime: number;
    readonly clock: Clock;
  },
): Promise<{ runId: string; artifactPath: string }> {
  const { tracking, artifacts } = stores;
  let experimentId: string;
  try {
    experimentId = (await tracking.getExperimentByName(input.experiment)).experimentId;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    experimentId = await tracking.createExperiment(input.experiment);
  }
  const { result } = input;
  const run = await tracking.createRun({
    experimentId,
    runName: `train-${result.model.model_type}`,
    startTime: input.startTime,
    tags: [
      { key: "keel.model_type", value: result.model.model_type },
      { key: "keel.task", value: result.model.task },
    ],
  });
  const runId = run.info.runId;
  try {
    const params: Param[] = Object.entries({ ...input.setup, ...result.model.params }).map(([key, v]) => ({
      key,
      value: typeof v === "string" ? v : JSON.stringify(v),
    }));
    await tracking.logBatch(runId, { params });
    const now = input.clock();
    const metrics: Metric[] = [];
    result.history.forEach((h, step) => {
      for (const [k, value] of Object.entries(h)) metrics.push({ key: `valid_${k}`, value, timestamp: now, step });
    });
    for (const [key, value] of Object.entries(result.metrics)) {
      if (Number.isFinite(value)) metrics.push({ key, value, timestamp: now, step: 0 });
    }
    for (let i = 0; i < metrics.length; i += BATCH)
      await tracking.logBatch(runId, { metrics: metrics.slice(i, i + BATCH) });
    const artifactPath = runArtifactPath(run.info.artifactUri, experimentId, runId, "model/model.json");
    await artifacts.putFile(artifactPath, new TextEncoder().encode(serializeKeelModel(result.model)));
    await tracking.updateRun(runId, { status: "FINISHED", endTime: input.clock() });
    return { runId, artifactPath };
  } catch (e) {
    await tracking.updateRun(runId, { status: "FAILED", endTime: input.clock() });
    throw e;
  }
}

/**
 * `keel train --data FILE --target COL [--model gbdt|linear] [--param k=v ...] [--valid-fraction 0.2]
 * [--positive CLASS] [--id-column C] [--exclude C,...] [--out model.json] [--experiment NAME] [--json]`.
 */
export function trainCommand(program: Command, ctx: CliContext): void {
  program
    .command("train")
    .description("train a model (gbdt or linear) on a CSV/Parquet file and evaluate it on a held-out part")
    .requiredOption("--data <file>", "training data (CSV or Parquet)")
    .requiredOption("--target <column>", "the column to predict")
    .option("--model <kind>", "gbdt or linear", "gbdt")
    .option("--param <key=value>", "trainer parameter, repeatable (e.g. n_estimators=300)", collect, [])
    .option("--valid-fraction <f>", "share of rows held out for validation (0 = none)", "0.2")
    .option("--positive <class>", "the positive class of a binary target (default: the minority class)")
    .option("--id-column <column>", "the row-id column (default: detected)")
    .option("--exclude <columns>", "comma-separated columns to leave out of the features")
    .option("--out <file>", "where to write the model", "model.json")
    .option("--experiment <name>", "experiment to log the run to", "Default")
    .action(async (opts: TrainFlags, cmd: Command) => {
      if (opts.model !== "gbdt" && opts.model !== "linear") {
        throw new InvalidParameterError(`--model = "${opts.model}": must be "gbdt" or "linear"`, {
          details: { field: "model", value: opts.model, rule: "gbdt | linear" },
        });
      }
      const validFraction = Number(opts.validFraction);
      if (opts.validFraction.trim() === "" || !Number.isFinite(validFraction)) {
        throw new InvalidParameterError(`--valid-fraction = "${opts.validFraction}": must be a number in [0, 1)`, {
          details: { field: "valid-fraction", value: opts.validFraction, rule: "number in [0, 1)" },
        });
      }
      const params = parseParams(opts.param);
      const frame = await readTable(resolve(ctx.cwd, opts.data));
      const started = Date.now();
      const result = await trainModel(frame, {
        target: opts.target,
        model: opts.model,
        params,
        validFraction,
        ...(opts.positive === undefined ? {} : { positive: opts.positive }),
        ...(opts.idColumn === undefined ? {} : { idColumn: opts.idColumn }),
        ...(opts.exclude === undefined
          ? {}
          : {
              exclude: opts.exclude
                .split(",")
                .map((s) => s.trim())
                .filter((s) => s !== ""),
            }),
      });
      const modelPath = resolve(ctx.cwd, opts.out);
      await saveKeelModel(result.model, modelPath);
      const seconds = (Date.now() - started) / 1000;
      const setup: Record<string, string> = {
        model: result.model.model_type,
        data: opts.data,
        target: opts.target,
        valid_fraction: String(validFraction),
      };
      if (result.model.target.positive_class !== undefined) setup.positive_class = result.model.target.positive_class;
      if (result.roles.idColumn !== undefined) setup.id_column = result.roles.idColumn;
      if (opts.exclude !== undefined) setup.exclude = opts.exclude;
      const logged = await withStores(configFor(cmd, ctx), (stores) =>
        logTrainingRun(stores, {
          experiment: opts.experiment ?? "Default",
          result,
          setup,
          startTime: started,
          clock: Date.now,
        }),
      );
      const payload = {
        run_id: logged.runId,
        experiment: opts.experiment ?? "Default",
        model_path: modelPath,
        artifact_path: logged.artifactPath,
        model_type: result.model.model_type,
        task: result.model.task,
        target: result.model.target,
        id_column: result.roles.idColumn ?? null,
        features: result.roles.features,
        dropped: result.roles.dropped,
        train_rows: result.nTrain,
        valid_rows: result.nValid,
        metrics: result.metrics,
        train_seconds: seconds,
      };
      print(cmd, ctx, payload, () => {
        const t = result.model.target;
        const lines = [
          `trained ${result.model.model_type} (${result.model.task}) on ${result.nTrain} rows, validated on ${result.nValid}`,
          t.positive_class === undefined
            ? `target: ${t.name}`
            : `target: ${t.name} (positive class "${t.positive_class}", negative "${t.negative_class ?? ""}")`,
          `features (${result.roles.features.length}): ${result.roles.features.join(", ")}`,
        ];
        if (result.roles.idColumn !== undefined) lines.push(`row id: ${result.roles.idColumn}`);
        if (result.roles.dropped.length > 0)
          lines.push(`left out: ${result.roles.dropped.map((d) => `${d.name} (${d.reason})`).join(", ")}`);
        const m = Object.entries(result.metrics);
        if (m.length > 0)
          lines.push(
            table(
              ["metric", "validation"],
              m.map(([k, v]) => [k, v.toFixed(4)]),
            ),
          );
        lines.push(`model written to ${modelPath}`);
        lines.push(`run ${logged.runId} logged to experiment "${opts.experiment ?? "Default"}"`);
        return lines.join("\n");
      });
    });
}
