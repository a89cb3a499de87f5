import { InvalidParameterError } from "../../errors.js";

/** GBDT hyper-parameters, XGBoost/LightGBM names. */
export interface GbdtParams {
  readonly n_estimators: number;
  readonly learning_rate: number;
  /** Maximum depth; -1 = limited only by num_leaves. */
  readonly max_depth: number;
  /** Maximum leaves per tree (leaf-wise growth, best gain first); default 2^max_depth. */
  readonly num_leaves: number;
  readonly min_child_weight: number;
  readonly lambda: number;
  readonly min_split_gain: number;
  readonly subsample: number;
  readonly colsample_bytree: number;
  /** Stop when the validation metric has not improved for this many rounds; 0 = off. */
  readonly early_stopping_rounds: number;
  readonly seed: number;
  readonly max_bin: number;
  readonly cat_smooth: number;
  /** Histogram threads (the calling thread plus worker threads); the model does not depend on it. */
  readonly threads: number;
  /** Per feature name: 1 increasing, -1 decreasing. */
  readonly monotone_constraints: Readonly<Record<string, number>>;
  /** Binary objective: each positive row's gradient and hessian count this many times (XGBoost's `scale_pos_weight`). */
  readonly scale_pos_weight: number;
}

export const DEFAULT_PARAMS: Omit<GbdtParams, "num_leaves"> = {
  n_estimators: 100,
  learning_rate: 0.1,
  max_depth: 6,
  min_child_weight: 1,
  lambda: 1,
  min_split_gain: 0,
  subsample: 1,
  colsample_bytree: 1,
  early_stopping_rounds: 0,
  seed: 0,
  max_bin: 255,
  cat_smooth: 10,
  threads: 1,
  monotone_constraints: {},
  scale_pos_weight: 1,
};

/** Deepest tree num_leaves-only growth may build; keeps a runaway chain bounded. */
const MAX_DEPTH_CAP = 64;

function bad(field: string, value: unknown, rule: string): InvalidParameterError {
  return new InvalidParameterError(`param ${field} = ${JSON.stringify(value)}: ${rule}`, {
    details: { field, value, rule },
  });
}

function num(field: string, raw: unknown, rule: (v: number) => boolean, ruleText: string, integer = false): number {
  const v = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || !rule(v)) {
    throw bad(field, raw, ruleText);
  }
  return v;
}

/** Parses `monotone_constraints`: an object `{col: 1}` or a string `col:1,other:-1`. */
function monotone(raw: unknown): Record<string, number> {
  let entries: [string, unknown][];
  if (typeof raw === "string") {
    entries = raw
      .split(",")
      .filter((s) => s.trim() !== "")
      .map((s) => {
        const i = s.lastIndexOf(":");
        if (i < 0) throw bad("monotone_constraints", raw, "write it as column:1,other:-1");
        return [s.slice(0, i).trim(), s.slice(i + 1).trim()];
      });
  } else if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
    entries = Object.entries(raw);
  } else {
    throw bad("monotone_constraints", raw, "must be an object {column: -1|0|1} or a string column:1,other:-1");
  }
  const out: Record<string, number> = {};
  for (const [k, v] of entries) {
    const n = typeof v === "string" ? Number(v) : v;
    if (n !== -1 && n !== 0 && n !== 1) throw bad(`monotone_constraints.${k}`, v, "must be -1, 0 or 1");
    if (n !== 0) out[k] = n;
  }
  return out;
}

const KNOWN = new Set([...Object.keys(DEFAULT_PARAMS), "num_leaves"]);

/** Validates user parameters (numbers or strings from `--param k=v`) over the defaults. */
export function resolveParams(input: Readonly<Record<string, unknown>> = {}): GbdtParams {
  for (const k of Object.keys(input)) {
    if (!KNOWN.has(k)) throw bad(k, input[k], `unknown GBDT parameter; known: ${[...KNOWN].sort().join(", ")}`);
  }
  const get = (k: string): unknown => input[k] ?? (DEFAULT_PARAMS as unknown as Record<string, unknown>)[k];
  const maxDepth = num(
    "max_depth",
    get("max_depth"),
    (v) => v === -1 || (v >= 0 && v <= MAX_DEPTH_CAP),
    `integer in [0, ${MAX_DEPTH_CAP}] or -1`,
    true,
  );
  const numLeavesRaw = input.num_leaves;
  let numLeaves: number;
  if (numLeavesRaw === undefined) {
    if (maxDepth === -1) throw bad("num_leaves", numLeavesRaw, "is required when max_depth = -1");
    numLeaves = 2 ** Math.min(maxDepth, 30);
  } else {
    numLeaves = num("num_leaves", numLeavesRaw, (v) => v >= 2, "integer ≥ 2", true);
  }
  return {
    n_estimators: num("n_estimators", get("n_estimators"), (v) => v >= 1, "integer ≥ 1", true),
    learning_rate: num("learning_rate", get("learning_rate"), (v) => v > 0 && v <= 1, "number in (0, 1]"),
    max_depth: maxDepth === -1 ? MAX_DEPTH_CAP : maxDepth,
    num_leaves: numLeaves,
    min_child_weight: num("min_child_weight", get("min_child_weight"), (v) => v >= 0, "number ≥ 0"),
    lambda: num("lambda", get("lambda"), (v) => v >= 0, "number ≥ 0"),
    min_split_gain: num("min_split_gain", get("min_split_gain"), (v) => v >= 0, "number ≥ 0"),
    subsample: num("subsample", get("subsample"), (v) => v > 0 && v <= 1, "number in (0, 1]"),
    colsample_bytree: num("colsample_bytree", get("colsample_bytree"), (v) => v > 0 && v <= 1, "number in (0, 1]"),
    early_stopping_rounds: num(
      "early_stopping_rounds",
      get("early_stopping_rounds"),
      (v) => v >= 0,
      "integer ≥ 0",
      true,
    ),
    seed: num("seed", get("seed"), (v) => v >= 0 && v <= 0xffffffff, "integer in [0, 2^32)", true),
    max_bin: num("max_bin", get("max_bin"), (v) => v >= 2 && v <= 255, "integer in [2, 255]", true),
    cat_smooth: num("cat_smooth", get("cat_smooth"), (v) => v >= 0, "number ≥ 0"),
    threads: num("threads", get("threads"), (v) => v >= 1 && v <= 64, "integer in [1, 64]", true),
    monotone_constraints: monotone(get("monotone_constraints")),
    scale_pos_weight: num("scale_pos_weight", get("scale_pos_weight"), (v) => v > 0, "number > 0"),
  };
}
