/**
 * Pipeline definitions: what a training pipeline reads, how it splits, trains, evaluates, gates,
 * tests and registers. Written as a TypeScript object, a JSON file or a YAML file; all three go
 * through the same parser, so a definition built in code gets the same checks and defaults.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidParameterError } from "../errors.js";
import { parseParamSpace, type ParamSpace } from "../learn/index.js";
import { ENTITY_TIMESTAMP } from "../features/index.js";
import { parseBehaviourTests, type BehaviourTestSpec } from "./behaviour.js";
import { DEFAULT_LOAN_GATES, parseGates, type GateSpec } from "./gates.js";
import { parseReviewedDecisions, type ReviewedDecisionsSpec } from "./reviewed-decisions.js";
import { parseTrainingWindow, type TrainingWindow } from "./window.js";
import {
  inSpecFile,
  readSpecFile,
  specArray,
  specError,
  specNumber,
  specObject,
  specRequired,
  specString,
} from "../spec-fields.js";

export type SplitSpec =
  | {
      readonly kind: "random";
      /** Share of rows held out for validation; default 0.2. */
      readonly validFraction: number;
      readonly seed: number;
      /** Keep the target's class balance in both parts. */
      readonly stratify: boolean;
    }
  | {
      readonly kind: "time";
      /** Numeric (e.g. epoch seconds) or ISO-8601 date / timestamp strings. */
      readonly column: string;
      /** The latest share of rows (by time) held out; used when `cutoff` is absent. Default 0.2. */
      readonly validFraction?: number;
      /** Rows at or after this time validate, rows before it train. */
      readonly cutoff?: number | string;
    };

/** Metrics the tuning objective can maximise or minimise (validation metrics of a binary model). */
export const TUNING_METRICS = {
  auc: "maximize",
  pr_auc: "maximize",
  ks: "maximize",
  log_loss: "minimize",
  brier: "minimize",
} as const;
export type TuningMetric = keyof typeof TUNING_METRICS;

export interface TuningSpec {
  readonly space: ParamSpace;
  readonly trials: number;
  /** Default auc. */
  readonly metric: TuningMetric;
  readonly seed: number;
  /** Share of the training rows each trial validates on (the validation part stays unseen); default 0.2. */
  readonly holdoutFraction: number;
}

export interface TrainSpec {
  readonly model: "gbdt" | "linear";
  readonly params: Readonly<Record<string, unknown>>;
  readonly tuning?: TuningSpec;
  /** Numeric column of sample weights (how much each row counts); not a feature. */
  readonly weightColumn?: string;
}

/** The path of a suite JSON file (relative to the definition), or the suite inline. */
export type SuiteRef = string | Readonly<Record<string, unknown>>;

/**
 * A training set built point-in-time from a feature service: the entity dataframe (join keys,
 * `event_timestamp`, the label and any other columns) joined with the service's features as of
 * each row's time.
 */
export interface TrainingSetSpec {
  readonly featureService: string;
  /** CSV or Parquet file, relative to the definition's directory. */
  readonly entityDf: string;
}

export interface PipelineDefinition {
  readonly name: string;
  /** Experiment the runs go to; default the pipeline's name. */
  readonly experiment: string;
  /** CSV or Parquet file, relative to the definition's directory; or `trainingSet`. */
  readonly data?: string;
  readonly trainingSet?: TrainingSetSpec;
  /**
   * Train on the latest stretch of the data only: rows whose time lies in the last N days or months
   * (for a `trainingSet`, entity rows by their `event_timestamp`).
   */
  readonly window?: TrainingWindow;
  /** Served decisions labelled by a human review, appended to the training data before the split. */
  readonly reviewedDecisions?: ReviewedDecisionsSpec;
  readonly target: string;
  readonly positive?: string;
  readonly idColumn?: string;
  readonly exclude: readonly string[];
  readonly validate?: { readonly suite: SuiteRef };
  readonly split: SplitSpec;
  readonly train: TrainSpec;
  /** Decision threshold: a score at or above it is a positive decision. Default 0.5. */
  readonly evaluate: { readonly threshold: number };
  readonly gates: readonly GateSpec[];
  readonly behaviourTests: readonly BehaviourTestSpec[];
  /** Seed of the rows behaviour tests sample; default 0. */
  readonly behaviourSeed: number;
  readonly register: {
    readonly model: string;
    readonly alias: string;
    /** Keep the training data of this many newest versions; older versions' data is deleted. Default: all. */
    readonly keepTrainingData?: number;
    /** Categorical columns whose values each get a reference profile of their own: drift by segment. */
    readonly segments?: readonly string[];
  };
}

/** What a user writes: every field with a default may be left out. */
export interface PipelineDefinitionInput {
  name: string;
  experiment?: string;
  data?: string;
  trainingSet?: { featureService: string; entityDf: string };
  window?: { column: string; last: string };
  reviewedDecisions?: { model: string; since?: string; sources?: readonly string[] };
  target: string;
  positive?: string;
  idColumn?: string;
  exclude?: readonly string[];
  validate?: { suite: SuiteRef };
  split?:
    | { kind: "random"; validFraction?: number; seed?: number; stratify?: boolean }
    | { kind: "time"; column: string; validFraction?: number; cutoff?: number | string };
  train?: {
    model?: "gbdt" | "linear";
    params?: Readonly<Record<string, unknown>>;
    tuning?: {
      space: Readonly<Record<string, unknown>>;
      trials: number;
      metric?: TuningMetric;
      seed?: number;
      holdoutFraction?: number;
    };
    weightColumn?: string;
  };
  evaluate?: { threshold?: number };
  gates?: readonly unknown[];
  behaviourTests?: readonly unknown[];
  behaviourSeed?: number;
  register: { model: string; alias?: string; keepTrainingData?: number; segments?: string[] };
}

const TOP_FIELDS = [
  "name",
  "experiment",
  "data",
  "trainingSet",
  "window",
  "reviewedDecisions",
  "target",
  "positive",
  "idColumn",
  "exclude",
  "validate",
  "split",
  "train",
  "evaluate",
  "gates",
  "behaviourTests",
  "behaviourSeed",
  "register",
] as const;

const fraction = { min: 0, max: 1 };

function parseSplit(json: unknown): SplitSpec {
  if (json === undefined) return { kind: "random", validFraction: 0.2, seed: 0, stratify: false };
  const kind = specObject(json, "split", ["kind", "validFraction", "seed", "stratify", "column", "cutoff"]).kind;
  if (kind === "random") {
    const o = specObject(json, "split", ["kind", "validFraction", "seed", "stratify"]);
    const validFraction = specNumber(o, "validFraction", "split", fraction) ?? 0.2;
    if (!(validFraction > 0 && validFraction < 1))
      throw specError("split.validFraction", validFraction, "must be in (0, 1)");
    if (o.stratify !== undefined && typeof o.stratify !== "boolean")
      throw specError("split.stratify", o.stratify, "must be true or false");
    return {
      kind,
      validFraction,
      seed: specNumber(o, "seed", "split", { integer: true, min: 0, max: 0xffffffff }) ?? 0,
      stratify: o.stratify === true,
    };
  }
  if (kind === "time") {
    const o = specObject(json, "split", ["kind", "column", "validFraction", "cutoff"]);
    const column = specRequired(specString(o, "column", "split"), "split.column");
    const cutoff = o.cutoff;
    if (cutoff !== undefined) {
      if (o.validFraction !== undefined)
        throw specError("split.validFraction", o.validFraction, "give either cutoff or validFraction, not both");
      if (!(typeof cutoff === "string" && cutoff !== "") && !(typeof cutoff === "number" && Number.isFinite(cutoff)))
        throw specError("split.cutoff", cutoff, "must be a number or an ISO-8601 date/time string");
      return { kind, column, cutoff };
    }
    const validFraction = specNumber(o, "validFraction", "split", fraction) ?? 0.2;
    if (!(validFraction > 0 && validFraction < 1))
      throw specError("split.validFraction", validFraction, "must be in (0, 1)");
    return { kind, column, validFraction };
  }
  throw specError("split.kind", kind, 'must be "random" or "time"');
}

function parseTrain(json: unknown): TrainSpec {
  if (json === undefined) return { model: "gbdt", params: {} };
  const o = specObject(json, "train", ["model", "params", "tuning", "weightColumn"]);
  const weightColumn = specString(o, "weightColumn", "train");
  const weighted = weightColumn === undefined ? {} : { weightColumn };
  const model = o.model ?? "gbdt";
  if (model !== "gbdt" && model !== "linear") throw specError("train.model", model, 'must be "gbdt" or "linear"');
  const params = o.params ?? {};
  if (typeof params !== "object" || params === null || Array.isArray(params))
    throw specError("train.params", params, "must be an object of trainer parameters");
  if (o.tuning === undefined) return { model, params: params as Record<string, unknown>, ...weighted };
  const t = specObject(o.tuning, "train.tuning", ["space", "trials", "metric", "seed", "holdoutFraction"]);
  const space = parseParamSpace(specRequired(t.space, "train.tuning.space"), "train.tuning.space");
  for (const k of Object.keys(space)) {
    if (Object.hasOwn(params, k))
      throw specError(`train.tuning.space.${k}`, k, "is also fixed in train.params; keep it in one");
  }
  const metric = t.metric ?? "auc";
  if (typeof metric !== "string" || !Object.hasOwn(TUNING_METRICS, metric))
    throw specError("train.tuning.metric", metric, `must be one of ${Object.keys(TUNING_METRICS).join(", ")}`);
  const holdoutFraction = specNumber(t, "holdoutFraction", "train.tuning", fraction) ?? 0.2;
  if (!(holdoutFraction > 0 && holdoutFraction < 1))
    throw specError("train.tuning.holdoutFraction", holdoutFraction, "must be in (0, 1)");
  return {
    model,
    params: params as Record<string, unknown>,
    tuning: {
      space,
      trials: specRequired(
        specNumber(t, "trials", "train.tuning", { integer: true, min: 1, max: 1000 }),
        "train.tuning.trials",
      ),
      metric: metric as TuningMetric,
      seed: specNumber(t, "seed", "train.tuning", { integer: true, min: 0, max: 0xffffffff }) ?? 0,
      holdoutFraction,
    },
    ...weighted,
  };
}

function stringList(json: unknown, field: string): string[] {
  return specArray(json, field).map((v, i) => {
    if (typeof v !== "string" || v === "") throw specError(`${field}[${i}]`, v, "must be a non-empty string");
    return v;
  });
}

/**
 * Checks a definition and fills in its defaults; a parsed definition parses to itself. Unknown fields, wrong types and out-of-range
 * values throw an InvalidParameterError naming the field, the value and the rule.
 */
export function parsePipelineDefinition(json: unknown): PipelineDefinition {
  const o = specObject(json, "pipeline", TOP_FIELDS);
  const name = specRequired(specString(o, "name", "pipeline"), "name");
  const data = specString(o, "data", "pipeline");
  let trainingSet: TrainingSetSpec | undefined;
  if (o.trainingSet !== undefined) {
    const t = specObject(o.trainingSet, "trainingSet", ["featureService", "entityDf"]);
    trainingSet = {
      featureService: specRequired(specString(t, "featureService", "trainingSet"), "trainingSet.featureService"),
      entityDf: specRequired(specString(t, "entityDf", "trainingSet"), "trainingSet.entityDf"),
    };
  }
  if ((data === undefined) === (trainingSet === undefined))
    throw specError("data", data ?? null, "give exactly one of data (a file) or trainingSet (a feature service)");
  const window =
    o.window === undefined
      ? undefined
      : parseTrainingWindow(o.window, trainingSet === undefined ? undefined : ENTITY_TIMESTAMP);
  if (trainingSet !== undefined && window !== undefined && window.column !== ENTITY_TIMESTAMP)
    throw specError(
      "window.column",
      window.column,
      `a trainingSet's window is over its entity rows' ${ENTITY_TIMESTAMP}`,
    );
  const target = specRequired(specString(o, "target", "pipeline"), "target");
  const positive = specString(o, "positive", "pipeline");
  const idColumn = specString(o, "idColumn", "pipeline");
  let validate: PipelineDefinition["validate"];
  if (o.validate !== undefined) {
    const suite = specRequired(specObject(o.validate, "validate", ["suite"]).suite, "validate.suite");
    const isObject = typeof suite === "object" && suite !== null && !Array.isArray(suite);
    if (!(typeof suite === "string" && suite !== "") && !isObject)
      throw specError("validate.suite", suite, "must be a suite file path or an inline suite object");
    validate = { suite: suite as SuiteRef };
  }
  const evaluate = o.evaluate === undefined ? {} : specObject(o.evaluate, "evaluate", ["threshold"]);
  const threshold = specNumber(evaluate, "threshold", "evaluate", fraction) ?? 0.5;
  const reg = specObject(specRequired(o.register, "register"), "register", [
    "model",
    "alias",
    "keepTrainingData",
    "segments",
  ]);
  const keepTrainingData = specNumber(reg, "keepTrainingData", "register", { integer: true, min: 1 });
  const alias = specString(reg, "alias", "register") ?? "challenger";
  if (!/^[A-Za-z][\w-]*$/.test(alias))
    throw specError("register.alias", alias, "must be a word (letters, digits, _ -)");
  const split = parseSplit(o.split);
  const exclude = o.exclude === undefined ? [] : stringList(o.exclude, "exclude");
  if (split.kind === "time" && split.column === target)
    throw specError("split.column", split.column, "cannot be the target column");
  return {
    name,
    experiment: specString(o, "experiment", "pipeline") ?? name,
    ...(data === undefined ? {} : { data }),
    ...(trainingSet === undefined ? {} : { trainingSet }),
    ...(window === undefined ? {} : { window }),
    ...(o.reviewedDecisions === undefined ? {} : { reviewedDecisions: parseReviewedDecisions(o.reviewedDecisions) }),
    target,
    ...(positive === undefined ? {} : { positive }),
    ...(idColumn === undefined ? {} : { idColumn }),
    exclude,
    ...(validate === undefined ? {} : { validate }),
    split,
    train: parseTrain(o.train),
    evaluate: { threshold },
    gates: o.gates === undefined ? [...DEFAULT_LOAN_GATES] : parseGates(o.gates, "gates"),
    behaviourTests: o.behaviourTests === undefined ? [] : parseBehaviourTests(o.behaviourTests, "behaviourTests"),
    behaviourSeed: specNumber(o, "behaviourSeed", "pipeline", { integer: true, min: 0, max: 0xffffffff }) ?? 0,
    register: {
      model: specRequired(specString(reg, "model", "register"), "register.model"),
      alias,
      ...(keepTrainingData === undefined ? {} : { keepTrainingData }),
      ...(reg.segments === undefined ? {} : { segments: stringList(reg.segments, "register.segments") }),
    },
  };
}

/** JSON with object keys sorted at every level and no whitespace: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value))
      throw new InvalidParameterError(`cannot hash the non-finite number ${value}`);
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** sha256 of the canonical JSON of `value`. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** A definition file's format, from its extension. */
export function definitionFormat(file: string): "json" | "yaml" | "module" {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".json") return "json";
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  if ([".js", ".mjs", ".ts", ".mts"].includes(ext)) return "module";
  throw new InvalidParameterError(`pipeline file ${file}: extension "${ext}" is not supported`, {
    details: { field: "file", value: file, rule: "must end in .json, .yaml, .yml, .js, .mjs, .ts or .mts" },
  });
}

/**
 * Reads a definition file: JSON, YAML, or a module whose default export (or `pipeline` export) is
 * the definition object. TypeScript modules need a TypeScript-aware runtime (tsx) on Node 20.
 */
export async function readPipelineDefinition(file: string): Promise<PipelineDefinition> {
  const format = definitionFormat(file);
  if (format === "module") {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(path.resolve(file)).href)) as Record<string, unknown>;
    } catch (cause) {
      throw new InvalidParameterError(
        `pipeline file ${file}: cannot be imported (${cause instanceof Error ? cause.message : String(cause)})`,
        { cause, details: { field: "file", value: file, rule: "an importable module exporting the definition" } },
      );
    }
    const def = mod.default ?? mod.pipeline;
    if (def === undefined)
      throw specError("file", file, "a pipeline module must export the definition as default or as `pipeline`");
    return inSpecFile(file, () => parsePipelineDefinition(def));
  }
  return readSpecFile(file, parsePipelineDefinition);
}
