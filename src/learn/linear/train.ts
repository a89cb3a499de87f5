import type { Column, Frame } from "../../data/index.js";
import { InvalidParameterError } from "../../errors.js";

export type LinearTask = "binary" | "regression";

/** One numeric input: nulls become `impute` (the training mean), then `(x - mean) / scale`. */
export interface LinearNumeric {
  readonly name: string;
  readonly kind: "numeric";
  readonly impute: number;
  readonly mean: number;
  readonly scale: number;
  readonly coef: number;
}

/** One categorical input, one-hot: `coef[k]` for category `dictionary[k]`; null or unknown adds 0. */
export interface LinearCategorical {
  readonly name: string;
  readonly kind: "categorical";
  readonly dictionary: readonly string[];
  readonly coef: readonly number[];
}

export type LinearTerm = LinearNumeric | LinearCategorical;

export interface LinearModelBody {
  readonly task: LinearTask;
  readonly intercept: number;
  readonly terms: readonly LinearTerm[];
  readonly l2: number;
  readonly iterations: number;
}

export interface LinearParams {
  /** L2 penalty λ on the (standardised) weights; the intercept is not penalised. sklearn's C = 1/λ. */
  readonly l2: number;
  readonly max_iter: number;
  readonly tol: number;
  /** Binary task: each positive row's loss counts this many times (XGBoost's name; sklearn's class_weight={1: w}). */
  readonly scale_pos_weight: number;
}

const DEFAULTS: LinearParams = { l2: 1, max_iter: 100, tol: 1e-10, scale_pos_weight: 1 };

function bad(field: string, value: unknown, rule: string): InvalidParameterError {
  return new InvalidParameterError(`param ${field} = ${JSON.stringify(value)}: ${rule}`, {
    details: { field, value, rule },
  });
}

export function resolveLinearParams(input: Readonly<Record<string, unknown>> = {}): LinearParams {
  const out: Record<string, number> = { ...DEFAULTS };
  for (const [k, raw] of Object.entries(input)) {
    if (!(k in DEFAULTS))
      throw bad(k, raw, `unknown linear-model parameter; known: ${Object.keys(DEFAULTS).join(", ")}`);
    const v = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
    if (typeof v !== "number" || !Number.isFinite(v)) throw bad(k, raw, "must be a finite number");
    if (k === "l2" && v < 0) throw bad(k, raw, "must be ≥ 0");
    if (k === "max_iter" && (!Number.isInteger(v) || v < 1)) throw bad(k, raw, "must be an integer ≥ 1");
    if ((k === "tol" || k === "scale_pos_weight") && v <= 0) throw bad(k, raw, "must be > 0");
    out[k] = v;
  }
  return out as unknown as LinearParams;
}

/** Design layout: numeric columns first-come, then each categorical's one-hot block. */
interface Layout {
  readonly d: number;
  readonly start: Int32Array;
  readonly means: Float64Array;
  readonly scales: Float64Array;
}

function layout(cols: readonly Column[], n: number): Layout {
  const start = new Int32Array(cols.length);
  const means = new Float64Array(cols.length);
  const scales = new Float64Array(cols.length).fill(1);
  let d = 0;
  cols.forEach((c, j) => {
    start[j] = d;
    if (c.kind === "categorical") {
      d += c.dictionary.length;
      return;
    }
    let s = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = c.values[i] as number;
      if (v === v) {
        s += v;
        m++;
      }
    }
    const mean = m > 0 ? s / m : 0;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const v = c.values[i] as number;
      const x = v === v ? v : mean;
      ss += (x - mean) * (x - mean);
    }
    // Population std of the imputed column, as sklearn's StandardScaler after SimpleImputer.
    const sd = Math.sqrt(ss / n);
    means[j] = mean;
    scales[j] = sd > 0 ? sd : 1;
    d += 1;
  });
  return { d, start, means, scales };
}

/** Dense row-major design matrix (standardised numerics, one-hot categoricals), no intercept column. */
function design(cols: readonly Column[], n: number, lay: Layout): Float64Array {
  const d = lay.d;
  const x = new Float64Array(n * d);
  cols.forEach((c, j) => {
    const s = lay.start[j] as number;
    if (c.kind === "categorical") {
      for (let i = 0; i < n; i++) {
        const k = c.codes[i] as number;
        if (k >= 0) x[i * d + s + k] = 1;
      }
      return;
    }
    const mean = lay.means[j] as number;
    const scale = lay.scales[j] as number;
    for (let i = 0; i < n; i++) {
      const v = c.values[i] as number;
      x[i * d + s] = v === v ? (v - mean) / scale : 0;
    }
  });
  return x;
}

/** Solves A x = b in place for symmetric positive-definite A (p × p, row-major) by Cholesky. */
function choleskySolve(a: Float64Array, b: Float64Array, p: number): Float64Array {
  for (let j = 0; j < p; j++) {
    let s = a[j * p + j] as number;
    for (let k = 0; k < j; k++) s -= (a[j * p + k] as number) ** 2;
    if (!(s > 0)) {
      throw new InvalidParameterError("linear model: the system is singular; add an L2 penalty (param l2 > 0)", {
        details: { field: "l2", rule: "l2 > 0 when features are collinear or constant" },
      });
    }
    const l = Math.sqrt(s);
    a[j * p + j] = l;
    for (let i = j + 1; i < p; i++) {
      let t = a[i * p + j] as number;
      for (let k = 0; k < j; k++) t -= (a[i * p + k] as number) * (a[j * p + k] as number);
      a[i * p + j] = t / l;
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < p; i++) {
    let t = x[i] as number;
    for (let k = 0; k < i; k++) t -= (a[i * p + k] as number) * (x[k] as number);
    x[i] = t / (a[i * p + i] as number);
  }
  for (let i = p - 1; i >= 0; i--) {
    let t = x[i] as number;
    for (let k = i + 1; k < p; k++) t -= (a[k * p + i] as number) * (x[k] as number);
    x[i] = t / (a[i * p + i] as number);
  }
  return x;
}

/**
 * Builds the normal-equation system at weights w (last entry = intercept): for the binary task
 * the Newton system (Xᵀ W X + λI) and gradient; for regression the ridge system itself.
 */
function system(
  x: Float64Array,
  y: Float64Array,
  sw: Float64Array | null,
  n: number,
  d: number,
  w: Float64Array,
  l2: number,
  task: LinearTask,
): { a: Float64Array; g: Float64Array; loss: number } {
  const p = d + 1;
  const a = new Float64Array(p * p);
  const g = new Float64Array(p);
  const row = new Float64Array(p);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let z = w[d] as number;
    for (let k = 0; k < d; k++) {
      const v = x[i * d + k] as number;
      row[k] = v;
      z += (w[k] as number) * v;
    }
    row[d] = 1;
    const yi = y[i] as number;
    const wi = sw === null ? 1 : (sw[i] as number);
    let r: number;
    let h: number;
    if (task === "binary") {
      const pr = 1 / (1 + Math.exp(-z));
      r = wi * (pr - yi);
      h = wi * pr * (1 - pr);
      // log(1 + e^z) - y z, computed without overflow.
      loss += wi * ((z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - yi * z);
    } else {
      r = wi * (z - yi);
      h = wi;
      loss += 0.5 * wi * (z - yi) * (z - yi);
    }
    for (let k = 0; k < p; k++) {
      const rk = row[k] as number;
      if (rk === 0) continue;
      g[k] = (g[k] as number) + r * rk;
      const hk = h * rk;
      for (let m = 0; m <= k; m++) a[k * p + m] = (a[k * p + m] as number) + hk * (row[m] as number);
    }
  }
  for (let k = 0; k < p; k++) for (let m = 0; m < k; m++) a[m * p + k] = a[k * p + m] as number;
  for (let k = 0; k < d; k++) {
    a[k * p + k] = (a[k * p + k] as number) + l2;
    g[k] = (g[k] as number) + l2 * (w[k] as number);
    loss += 0.5 * l2 * (w[k] as number) ** 2;
  }
  return { a, g, loss };
}

/**
 * Fits an L2-regularised linear model: logistic regression (binary, Newton's method with step
 * halving) or ridge regression. Minimises Σ s_i loss_i + (λ/2)‖w‖² over standardised numerics and
 * one-hot categoricals — the objective of sklearn's LogisticRegression with C = 1/λ and
 * `sample_weight` s — where s_i is the row's sample weight (default 1), times `scale_pos_weight`
 * for a positive row.
 */
export function trainLinear(
  frame: Frame,
  y: Float64Array,
  task: LinearTask,
  params: Readonly<Record<string, unknown>> = {},
  weights?: Float64Array,
): LinearModelBody {
  const prm = resolveLinearParams(params);
  const n = frame.nRows;
  const cols = frame.columns;
  if (n < 2) throw bad("rows", n, "need at least 2 training rows");
  if (y.length !== n) throw bad("y.length", y.length, `must equal the row count ${n}`);
  const sw = rowWeights(y, n, task === "binary" ? prm.scale_pos_weight : 1, weights);
  const lay = layout(cols, n);
  const d = lay.d;
  const x = design(cols, n, lay);
  let w = new Float64Array(d + 1);
  let iterations = 0;
  if (task === "regression") {
    const { a, g } = system(x, y, sw, n, d, w, prm.l2, task);
    const step = choleskySolve(a, g, d + 1);
    for (let k = 0; k <= d; k++) w[k] = -(step[k] as number);
    iterations = 1;
  } else {
    let cur = system(x, y, sw, n, d, w, prm.l2, task);
    for (iterations = 1; iterations <= prm.max_iter; iterations++) {
      const step = choleskySolve(cur.a, cur.g, d + 1);
      let t = 1;
      let next = w;
      let nextSys = cur;
      // Step halving keeps every accepted step a descent step.
      for (let h = 0; h < 30; h++) {
        next = w.map((v, k) => v - t * (step[k] as number));
        nextSys = system(x, y, sw, n, d, next, prm.l2, task);
        if (nextSys.loss <= cur.loss + 1e-12 * Math.abs(cur.loss)) break;
        t /= 2;
      }
      let maxStep = 0;
      for (let k = 0; k <= d; k++) maxStep = Math.max(maxStep, Math.abs(t * (step[k] as number)));
      w = next;
      cur = nextSys;
      if (maxStep < prm.tol) break;
    }
  }
  const terms: LinearTerm[] = cols.map((c, j) => {
    const s = lay.start[j] as number;
    if (c.kind === "categorical") {
      return {
        name: c.name,
        kind: "categorical",
        dictionary: c.dictionary,
        coef: Array.from(w.subarray(s, s + c.dictionary.length)),
      };
    }
    return {
      name: c.name,
      kind: "numeric",
      impute: lay.means[j] as number,
      mean: lay.means[j] as number,
      scale: lay.scales[j] as number,
      coef: w[s] as number,
    };
  });
  return { task, intercept: w[d] as number, terms, l2: prm.l2, iterations: Math.min(iterations, prm.max_iter) };
}

/**
 * Each row's weight in the loss: its sample weight (finite, ≥ 0; default 1), times
 * `scalePosWeight` when its label is 1. Null when every weight is 1.
 */
export function rowWeights(
  y: Float64Array,
  n: number,
  scalePosWeight: number,
  weights?: Float64Array,
): Float64Array | null {
  if (weights === undefined && scalePosWeight === 1) return null;
  if (weights !== undefined && weights.length !== n)
    throw bad("weights.length", weights.length, `must equal the row count ${n}`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = weights === undefined ? 1 : (weights[i] as number);
    if (!(s >= 0 && s < Infinity)) throw bad(`weights[${i}]`, s, "sample weights must be finite and ≥ 0");
    out[i] = y[i] === 1 ? s * scalePosWeight : s;
  }
  return out;
}

/**
 * One term's contribution to every row's margin: a numeric input's `coef / scale · (x − mean)`
 * (its imputed value when missing), a categorical input's category coefficient (0 for a missing
 * or unseen category). Written into `out` at `out[i * stride + offset]`.
 */
export function termContributions(t: LinearTerm, frame: Frame, out: Float64Array, stride = 1, offset = 0): void {
  const n = frame.nRows;
  const col = frame.columns.find((c) => c.name === t.name);
  if (!col) {
    throw new InvalidParameterError(`input column "${t.name}" is missing: the model needs every signature input`, {
      details: { field: t.name, rule: "required model input" },
    });
  }
  if (t.kind === "numeric") {
    if (col.kind !== "numeric") {
      throw new InvalidParameterError(`input column "${t.name}" is a string column: the model expects numbers`, {
        details: { field: t.name, rule: "numeric model input" },
      });
    }
    const k = t.coef / t.scale;
    // Adding 0 writes an imputed value's nothing as 0, not -0.
    const filled = t.coef * ((t.impute - t.mean) / t.scale) + 0;
    for (let i = 0; i < n; i++) {
      const v = col.values[i] as number;
      out[i * stride + offset] = v === v ? k * (v - t.mean) : filled;
    }
    return;
  }
  if (col.kind !== "categorical") {
    throw new InvalidParameterError(`input column "${t.name}" is numeric: the model expects categories`, {
      details: { field: t.name, rule: "categorical model input" },
    });
  }
  const index = new Map(t.dictionary.map((s, k) => [s, k]));
  const lookup = Float64Array.from(col.dictionary, (s) => {
    const m = index.get(s);
    return m === undefined ? 0 : (t.coef[m] as number);
  });
  for (let i = 0; i < n; i++) {
    const k = col.codes[i] as number;
    out[i * stride + offset] = k >= 0 ? (lookup[k] as number) : 0;
  }
}

/** Scores raw frame rows (probability for binary, prediction for regression). */
export function predictLinear(body: LinearModelBody, frame: Frame): Float64Array {
  const n = frame.nRows;
  const z = new Float64Array(n).fill(body.intercept);
  const contribution = new Float64Array(n);
  for (const t of body.terms) {
    termContributions(t, frame, contribution);
    for (let i = 0; i < n; i++) z[i] = (z[i] as number) + (contribution[i] as number);
  }
  if (body.task === "binary") for (let i = 0; i < n; i++) z[i] = 1 / (1 + Math.exp(-(z[i] as number)));
  return z;
}
