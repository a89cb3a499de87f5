import type { Frame, Signature, SignatureColumn } from "../data/index.js";
import { InvalidParameterError } from "../errors.js";
import { binnedTreesUnsupported, buildBinnedTrees } from "./binned-trees.js";
import { buildCompleteTrees, completeTreesUnsupported } from "./complete-trees.js";
import { EnsembleScorer, type EnsembleEvaluator } from "./ensemble-scorer.js";
import type { ModelFormat, ModelTask, Predictor } from "./predictor.js";
import { compileEnsemble, type TreeEnsemble } from "./tree-ensemble.js";

/**
 * How an ensemble is scored: `binned-trees` (WebAssembly SIMD over binned features, for shallow
 * numeric ensembles with float32 sums), `complete-trees` (branch-free JavaScript, for shallow
 * numeric ensembles), `generated` (compiled JavaScript, any ensemble), or `auto` (the first of
 * these the ensemble has the form for).
 */
export type EvaluatorChoice = "auto" | "binned-trees" | "complete-trees" | "generated";

/** One model input: its column name and, for a categorical input, the model's category codes (code = index). */
export interface ModelFeature {
  readonly name: string;
  readonly categories?: readonly string[];
}

export interface EnsemblePredictorOptions {
  readonly format: ModelFormat;
  readonly task: ModelTask;
  readonly features: readonly ModelFeature[];
  readonly ensemble: TreeEnsemble;
  /** Element type the model's runtime compares in: XGBoost float32, LightGBM float64. */
  readonly inputPrecision: "float32" | "float64";
  /** Worker threads for large batches (1 = score on the calling thread). */
  readonly threads?: number;
  /** Default `auto`. */
  readonly evaluator?: EvaluatorChoice;
}

function noForm(choice: EvaluatorChoice, reason: string, needs: string): InvalidParameterError {
  return new InvalidParameterError(`evaluator = ${choice}: the ensemble has ${reason}; use auto or generated`, {
    details: { field: "evaluator", value: choice, rule: `${choice} need ${needs} (${reason})` },
  });
}

/** The evaluator for an ensemble; InvalidParameterError when a form it lacks is asked for. */
export function chooseEvaluator(ensemble: TreeEnsemble, choice: EvaluatorChoice = "auto"): EnsembleEvaluator {
  if (choice === "generated") return compileEnsemble(ensemble);
  const complete = buildCompleteTrees(ensemble);
  if (complete === undefined) {
    if (choice === "auto") return compileEnsemble(ensemble);
    const reason = completeTreesUnsupported(ensemble) ?? "unsupported";
    throw noForm(choice, reason, "numeric, shallow splits");
  }
  if (choice === "complete-trees") return complete;
  const binned = buildBinnedTrees(complete);
  if (binned !== undefined) return binned;
  if (choice === "auto") return complete;
  throw noForm(
    choice,
    binnedTreesUnsupported(complete) ?? "unsupported",
    "float32 sums, depth ≤ 6, ≤ 255 cuts per feature",
  );
}

/** The signature a model's feature list implies: every input nullable (trees route missing values). */
export function signatureFromFeatures(features: readonly ModelFeature[]): Signature {
  const inputs: SignatureColumn[] = features.map((f) =>
    f.categories === undefined
      ? { name: f.name, type: "double", nullable: true }
      : { name: f.name, type: "string", nullable: true, categories: f.categories },
  );
  return { inputs, outputs: [{ name: "score", type: "double", nullable: false }] };
}

/**
 * A predictor's memo of category translations: per feature, the last dictionary seen and its labels
 * mapped to the model's category codes (a validator reuses one dictionary, its signature's
 * categories, for every request), and each model category list indexed once.
 */
export class CategoryLookups {
  private readonly index = new Map<number, ReadonlyMap<string, number>>();
  private readonly last = new Map<number, { dictionary: readonly string[]; lookup: Float64Array }>();

  lookup(j: number, feat: ModelFeature, dictionary: readonly string[]): Float64Array {
    const memo = this.last.get(j);
    if (memo !== undefined && memo.dictionary === dictionary) return memo.lookup;
    const lookup = translate(feat, dictionary, () => {
      let m = this.index.get(j);
      if (m === undefined) {
        m = new Map((feat.categories as readonly string[]).map((c, k) => [c, k]));
        this.index.set(j, m);
      }
      return m;
    });
    this.last.set(j, { dictionary, lookup });
    return lookup;
  }
}

/** Each dictionary entry as the model's code for it (unknown → NaN), or as a number without categories. */
function translate(
  feat: ModelFeature,
  dictionary: readonly string[],
  categoryIndex: () => ReadonlyMap<string, number>,
): Float64Array {
  const lookup = new Float64Array(dictionary.length);
  if (feat.categories !== undefined) {
    const index = categoryIndex();
    dictionary.forEach((label, k) => (lookup[k] = index.get(label) ?? NaN));
    return lookup;
  }
  dictionary.forEach((label, k) => {
    const num = label.trim() === "" ? NaN : Number(label);
    if (Number.isNaN(num)) {
      throw new InvalidParameterError(
        `input column "${feat.name}" value "${label}": the model expects a number in this column`,
        { details: { field: feat.name, value: label, rule: "numeric model input" } },
      );
    }
    lookup[k] = num;
  });
  return lookup;
}

/**
 * Lays the frame's model inputs out as a row-major matrix (NaN = missing). Categorical columns
 * are mapped through the model's category list (unknown or null → NaN); without one, their labels
 * must be numbers (a model trained on integer codes). `lookups` keeps translations between calls.
 */
export function frameToMatrix(
  frame: Frame,
  features: readonly ModelFeature[],
  precision: "float32" | "float64",
  lookups?: CategoryLookups,
): Float32Array | Float64Array {
  const nf = features.length;
  const n = frame.nRows;
  const x = precision === "float32" ? new Float32Array(n * nf) : new Float64Array(n * nf);
  for (let j = 0; j < nf; j++) {
    const feat = features[j] as ModelFeature;
    // Validated frames list the signature's inputs in the model's order: try position j first.
    const at = frame.columns[j];
    const col = at !== undefined && at.name === feat.name ? at : frame.columns.find((c) => c.name === feat.name);
    if (col === undefined) {
      throw new InvalidParameterError(`input column "${feat.name}" is missing: the model needs every signature input`, {
        details: { field: feat.name, rule: "required model input" },
      });
    }
    const valid = col.valid;
    if (col.kind === "numeric") {
      const v = col.values;
      for (let i = 0; i < n; i++) x[i * nf + j] = valid !== undefined && valid[i] === 0 ? NaN : (v[i] as number);
      continue;
    }
    const lookup =
      lookups !== undefined
        ? lookups.lookup(j, feat, col.dictionary)
        : translate(feat, col.dictionary, () => new Map((feat.categories as readonly string[]).map((c, k) => [c, k])));
    const codes = col.codes;
    for (let i = 0; i < n; i++) {
      const c = codes[i] as number;
      x[i * nf + j] = c < 0 || (valid !== undefined && valid[i] === 0) ? NaN : (lookup[c] as number);
    }
  }
  return x;
}

/** A Predictor over a tree ensemble loaded from any format. */
export class EnsemblePredictor implements Predictor {
  readonly format: ModelFormat;
  readonly task: ModelTask;
  readonly signature: Signature;
  readonly features: readonly ModelFeature[];
  /** The ensemble as scored: binned trees, complete trees or generated code. */
  readonly evaluator: EnsembleEvaluator;
  readonly inputPrecision: "float32" | "float64";
  private readonly scorer: EnsembleScorer;
  private readonly lookups = new CategoryLookups();

  constructor(opts: EnsemblePredictorOptions) {
    if (opts.features.length !== opts.ensemble.nFeatures) {
      throw new InvalidParameterError(
        `features.length = ${opts.features.length}: must equal the model's feature count ${opts.ensemble.nFeatures}`,
        { details: { field: "features", value: opts.features.length, rule: "one name per model feature" } },
      );
    }
    this.format = opts.format;
    this.task = opts.task;
    this.features = opts.features;
    this.inputPrecision = opts.inputPrecision;
    this.signature = signatureFromFeatures(opts.features);
    this.evaluator = chooseEvaluator(opts.ensemble, opts.evaluator);
    this.scorer = new EnsembleScorer(this.evaluator, { threads: opts.threads ?? 1 });
  }

  predict(frame: Frame): Promise<Float64Array> {
    return this.scoreMatrix(frameToMatrix(frame, this.features, this.inputPrecision, this.lookups), frame.nRows);
  }

  /** Scores a row-major matrix whose columns are `features` in order. */
  scoreMatrix(x: Float32Array | Float64Array, nRows: number): Promise<Float64Array> {
    return this.scorer.score(x, nRows);
  }

  close(): Promise<void> {
    return this.scorer.close();
  }
}
