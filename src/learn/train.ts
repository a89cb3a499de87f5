import type { Frame, ColumnRoles, PreparedTarget } from "../data/index.js";
import { assignRoles, prepareTarget, selectColumns, takeRows, inferSignature } from "../data/index.js";
import { trainGbdt } from "./gbdt/train.js";
import { ensembleToJson, KeelPredictor } from "./keel-model.js";
import type { KeelModel, KeelTarget } from "./keel-model.js";
import { trainLinear } from "./linear/train.js";
import { evaluateBinary, evaluateRegression } from "./metrics.js";
import { specError } from "../spec-fields.js";

export type ModelKind = "gbdt" | "linear";

export interface TrainOptions {
  readonly target: string;
  readonly model?: ModelKind;
  /** Trainer parameters (`--param key=value`); numbers or numeric strings. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Share of rows held out for validation metrics and early stopping; 0 = none. Default 0.2. */
  readonly validFraction?: number;
  readonly positive?: string;
  readonly idColumn?: string;
  readonly exclude?: readonly string[];
  /** Numeric column of sample weights (finite, ≥ 0): how much each row counts in training; not a feature. */
  readonly weightColumn?: string;
  /** Seed of the train/validation split (default: the `seed` param, else 0). */
  readonly splitSeed?: number;
  /**
   * The train and validation rows, chosen by the caller (a time-based or stratified split); when
   * given, `validFraction` and `splitSeed` are not used.
   */
  readonly rows?: { readonly train: Int32Array; readonly valid: Int32Array };
  readonly onIteration?: (iteration: number, metrics: Readonly<Record<string, number>>) => void;
}

export interface TrainResult {
  readonly model: KeelModel;
  readonly roles: ColumnRoles;
  readonly target: PreparedTarget;
  readonly nTrain: number;
  readonly nValid: number;
  /** Metrics on the validation rows (binary: auc, pr_auc, ks, log_loss, brier, accuracy, …; regression: mae, rmse, r2). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Per-iteration validation metrics (GBDT with a validation part). */
  readonly history: readonly Readonly<Record<string, number>>[];
}

/**
 * Deterministic shuffled split: the last `round(n × fraction)` positions of a seeded Fisher–Yates
 * permutation are the validation rows. Exported so a caller can rebuild the split of a run.
 */
export function trainValidSplit(n: number, fraction: number, seed: number): { train: Int32Array; valid: Int32Array } {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const j = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (i + 1));
    const tmp = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = tmp;
  }
  const nValid = Math.round(n * fraction);
  // Sorted halves keep the original row order inside each part.
  return { train: perm.slice(0, n - nValid).sort(), valid: perm.slice(n - nValid).sort() };
}

/** The training rows' weights from a numeric column (checked by the trainers: finite, ≥ 0). */
function weightsOf(frame: Frame, name: string, rows: Int32Array): Float64Array {
  const col = frame.columns.find((c) => c.name === name);
  if (col === undefined) throw specError("weightColumn", name, "no such column");
  if (col.kind !== "numeric") throw specError("weightColumn", name, "must be a numeric column");
  return Float64Array.from(rows, (i) => col.values[i] as number);
}

function checkRows(
  rows: { readonly train: Int32Array; readonly valid: Int32Array },
  n: number,
): { train: Int32Array; valid: Int32Array } {
  for (const [part, idx] of [
    ["train", rows.train],
    ["valid", rows.valid],
  ] as const) {
    for (let i = 0; i < idx.length; i++) {
      const r = idx[i] as number;
      if (r < 0 || r >= n) throw specError(`rows.${part}[${i}]`, r, `must be a row index in [0, ${n})`);
    }
  }
  return { train: rows.train, valid: rows.valid };
}

/**
 * Trains a keel model on a raw frame: picks the features (dropping ids and exclusions), turns the
 * target into labels, holds out a validation part, trains, and evaluates on the held-out rows.
 */
export async function trainModel(frame: Frame, options: TrainOptions): Promise<TrainResult> {
  const kind = options.model ?? "gbdt";
  if (kind !== "gbdt" && kind !== "linear") throw specError("model", kind, 'must be "gbdt" or "linear"');
  const fraction = options.validFraction ?? 0.2;
  if (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1)
    throw specError("valid-fraction", fraction, "must be in [0, 1)");
  const exclude = [...(options.exclude ?? []), ...(options.weightColumn === undefined ? [] : [options.weightColumn])];
  const roles = assignRoles(frame, options.target, {
    ...(options.idColumn === undefined ? {} : { idColumn: options.idColumn }),
    ...(exclude.length === 0 ? {} : { exclude }),
  });
  const target = prepareTarget(
    frame,
    options.target,
    options.positive === undefined ? {} : { positive: options.positive },
  );
  const params = options.params ?? {};
  const seedParam = params.seed === undefined ? 0 : Number(params.seed);
  const { train, valid } =
    options.rows === undefined
      ? trainValidSplit(frame.nRows, fraction, options.splitSeed ?? (Number.isFinite(seedParam) ? seedParam : 0))
      : checkRows(options.rows, frame.nRows);
  if (train.length < 2) throw specError("rows", frame.nRows, "too few rows to train on");
  if (options.rows === undefined && fraction > 0 && valid.length < 2)
    throw specError("valid-fraction", fraction, `leaves fewer than 2 validation rows of ${frame.nRows}`);
  const features = selectColumns(frame, roles.features);
  const trainX = takeRows(features, train);
  const validX = takeRows(features, valid);
  const yTrain =
    options.rows === undefined && train.length === frame.nRows
      ? target.y
      : Float64Array.from(train, (i) => target.y[i] as number);
  const yValid = Float64Array.from(valid, (i) => target.y[i] as number);
  const weights = options.weightColumn === undefined ? undefined : weightsOf(frame, options.weightColumn, train);
  if (target.task === "binary") {
    let pos = 0;
    for (let i = 0; i < yTrain.length; i++) pos += yTrain[i] as number;
    if (pos === 0 || pos === yTrain.length)
      throw specError("target", options.target, "the training part has only one class");
  }
  const signature = inferSignature(trainX);
  const tgt: KeelTarget =
    target.task === "binary"
      ? {
          name: options.target,
          ...(target.positiveClass === undefined ? {} : { positive_class: target.positiveClass }),
          ...(target.negativeClass === undefined ? {} : { negative_class: target.negativeClass }),
        }
      : { name: options.target };
  const common = {
    format: "keel" as const,
    format_version: 1,
    task: target.task,
    signature,
    target: tgt,
    ...(roles.idColumn === undefined ? {} : { id_column: roles.idColumn }),
  };
  let model: KeelModel;
  let history: readonly Readonly<Record<string, number>>[] = [];
  if (kind === "gbdt") {
    const res = await trainGbdt({
      features: trainX.columns,
      nRows: trainX.nRows,
      y: yTrain,
      objective: target.task,
      params,
      ...(weights === undefined ? {} : { weights }),
      ...(valid.length > 0 ? { valid: { features: validX.columns, nRows: validX.nRows, y: yValid } } : {}),
      ...(options.onIteration ? { onIteration: options.onIteration } : {}),
    });
    history = res.history;
    model = {
      ...common,
      model_type: "gbdt",
      params: { ...res.params },
      features: res.features.map((f) =>
        f.kind === "categorical"
          ? { name: f.name, kind: f.kind, categories: f.dictionary ?? [] }
          : { name: f.name, kind: f.kind },
      ),
      ensemble: ensembleToJson(res.ensemble),
      n_trees: res.nTrees,
      best_iteration: res.bestIteration,
      importance: res.importance,
    };
  } else {
    const body = trainLinear(trainX, yTrain, target.task, params, weights);
    const spw = params.scale_pos_weight;
    model = {
      ...common,
      model_type: "linear",
      params: { l2: body.l2, ...(spw === undefined ? {} : { scale_pos_weight: Number(spw) }) },
      linear: body,
    };
  }
  let metrics: Record<string, number> = {};
  if (valid.length > 0) {
    const predictor = new KeelPredictor(model);
    const p = await predictor.predict(validX);
    await predictor.close();
    if (target.task === "binary") {
      const e = evaluateBinary(yValid, p);
      metrics = {
        auc: e.auc,
        pr_auc: e.prAuc,
        ks: e.ks,
        log_loss: e.logLoss,
        brier: e.brier,
        accuracy: e.accuracy,
        precision: e.precision,
        recall: e.recall,
        f1: e.f1,
        ece: e.ece,
      };
    } else {
      const e = evaluateRegression(yValid, p);
      metrics = { ...e };
    }
  }
  return { model, roles, target, nTrain: train.length, nValid: valid.length, metrics, history };
}
