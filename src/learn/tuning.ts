/**
 * Hyper-parameter search: a Tree-structured Parzen Estimator (Bergstra et al. 2011, the sampler
 * hyperopt and Optuna default to). After a few random trials, the finished trials are split into
 * the best `γ` share ("good") and the rest ("bad"); each parameter gets a Parzen density l(x)
 * over the good values and g(x) over the bad ones, candidates are drawn from l, and the candidate
 * with the largest l(x)/g(x) is tried next. Parameters are modelled independently.
 */
import { gammaincc } from "../stats/index.js";
import { mulberry32 } from "../data/index.js";
import { specError } from "../spec-fields.js";

export type ParamValue = string | number | boolean;

export type ParamSpec =
  | { type: "float"; low: number; high: number; log?: boolean }
  | { type: "int"; low: number; high: number; log?: boolean }
  | { type: "choice"; values: readonly ParamValue[] };

export type ParamSpace = Readonly<Record<string, ParamSpec>>;

export interface Trial {
  index: number;
  params: Record<string, ParamValue>;
  value: number;
}

export interface TuneOptions {
  /** Trials to run (the budget). */
  trials: number;
  direction: "maximize" | "minimize";
  seed?: number;
  /** Random trials before the Parzen estimators take over; default min(10, trials). */
  startupTrials?: number;
}

/** Candidates drawn from l(x) per parameter and trial (Optuna's default). */
const CANDIDATES = 24;
const DEFAULT_STARTUP_TRIALS = 10;

function finiteField(o: Record<string, unknown>, key: string, p: string, integer: boolean): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isInteger(v)))
    throw specError(`${p}.${key}`, v, integer ? "must be an integer" : "must be a finite number");
  return v;
}

function onlyKeys(o: Record<string, unknown>, p: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw specError(`${p}.${k}`, o[k], `unknown field; allowed: ${allowed.join(", ")}`);
  }
}

/**
 * Parses a search space: `{"learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": true},
 * "max_depth": {"type": "int", "low": 3, "high": 8}, "objective": {"type": "choice", "values": ["a", "b"]}}`.
 */
export function parseParamSpace(json: unknown, path = "space"): ParamSpace {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw specError(path, json, "must be an object of parameter name → {type, …}");
  const entries = Object.entries(json as Record<string, unknown>);
  if (entries.length === 0) throw specError(path, json, "must declare at least one parameter");
  const out: Record<string, ParamSpec> = {};
  for (const [name, raw] of entries) {
    const p = `${path}.${name}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      throw specError(p, raw, "must be an object {type, …}");
    const o = raw as Record<string, unknown>;
    if (o.type === "float" || o.type === "int") {
      onlyKeys(o, p, ["type", "low", "high", "log"]);
      const integer = o.type === "int";
      const low = finiteField(o, "low", p, integer);
      const high = finiteField(o, "high", p, integer);
      if (!(high > low)) throw specError(`${p}.high`, high, `must be > low (${low})`);
      if (o.log !== undefined && typeof o.log !== "boolean")
        throw specError(`${p}.log`, o.log, "must be true or false");
      const log = o.log === true;
      if (log && !(low > 0)) throw specError(`${p}.low`, low, "must be > 0 on a log scale");
      out[name] = { type: o.type, low, high, ...(log ? { log } : {}) };
    } else if (o.type === "choice") {
      onlyKeys(o, p, ["type", "values"]);
      const values = o.values;
      if (!Array.isArray(values) || values.length === 0)
        throw specError(`${p}.values`, values, "must be a non-empty array of strings, numbers or booleans");
      const seen = new Set<unknown>();
      values.forEach((v: unknown, i) => {
        if (typeof v !== "string" && typeof v !== "boolean" && !(typeof v === "number" && Number.isFinite(v)))
          throw specError(`${p}.values[${i}]`, v, "must be a string, a finite number or a boolean");
        if (seen.has(v)) throw specError(`${p}.values[${i}]`, v, "is listed twice");
        seen.add(v);
      });
      out[name] = { type: "choice", values: [...(values as ParamValue[])] };
    } else {
      throw specError(`${p}.type`, o.type, 'must be "float", "int" or "choice"');
    }
  }
  return out;
}

/* ---------------------------------------------------------------- numeric helpers */

/** Standard normal CDF through the incomplete gamma: P(|Z| > t) = Q(1/2, t²/2). */
function normalCdf(t: number): number {
  const tail = 0.5 * gammaincc(0.5, (t * t) / 2);
  return t >= 0 ? 1 - tail : tail;
}

/** A numeric parameter in the space the estimator works in (log for log scales; ±0.5 around integers). */
interface NumericDim {
  readonly kind: "numeric";
  readonly name: string;
  readonly spec: Extract<ParamSpec, { type: "float" | "int" }>;
  readonly lo: number;
  readonly hi: number;
}

interface ChoiceDim {
  readonly kind: "choice";
  readonly name: string;
  readonly values: readonly ParamValue[];
}

type Dim = NumericDim | ChoiceDim;

function dims(space: ParamSpace): Dim[] {
  return Object.entries(space).map(([name, spec]): Dim => {
    if (spec.type === "choice") return { kind: "choice", name, values: spec.values };
    const pad = spec.type === "int" ? 0.5 : 0;
    const lo = spec.low - pad;
    const hi = spec.high + pad;
    return spec.log
      ? { kind: "numeric", name, spec, lo: Math.log(lo), hi: Math.log(hi) }
      : { kind: "numeric", name, spec, lo, hi };
  });
}

/** Internal coordinate → parameter value, inside the declared bounds. */
function toValue(d: NumericDim, x: number): number {
  let v = d.spec.log ? Math.exp(x) : x;
  if (d.spec.type === "int") v = Math.round(v);
  return Math.min(d.spec.high, Math.max(d.spec.low, v));
}

function toInternal(d: NumericDim, v: number): number {
  return d.spec.log ? Math.log(v) : v;
}

function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * A mixture of normals truncated to [lo, hi], one per observation plus a broad prior at the
 * centre; each bandwidth is the larger gap to its neighbours, clipped to [range / min(100, n + 1),
 * range] (hyperopt's adaptive Parzen estimator).
 */
class Parzen {
  readonly mus: Float64Array;
  readonly sigmas: Float64Array;
  /** log(1 / (σ·√(2π)·Z)) per component: Z is the mass of the normal inside [lo, hi]. */
  private readonly logNorm: Float64Array;

  constructor(
    obs: Float64Array,
    readonly lo: number,
    readonly hi: number,
  ) {
    const range = hi - lo;
    const prior = (lo + hi) / 2;
    const mus = Float64Array.from([...obs, prior]).sort();
    const n = mus.length;
    const sigmas = new Float64Array(n);
    const minSigma = range / Math.min(100, n + 1);
    let priorAt = -1;
    for (let i = 0; i < n; i++) {
      const left = (mus[i] as number) - (i > 0 ? (mus[i - 1] as number) : lo);
      const right = (i < n - 1 ? (mus[i + 1] as number) : hi) - (mus[i] as number);
      sigmas[i] = Math.min(range, Math.max(minSigma, left, right));
      if (priorAt < 0 && mus[i] === prior) priorAt = i;
    }
    sigmas[priorAt] = range;
    this.mus = mus;
    this.sigmas = sigmas;
    this.logNorm = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const mu = mus[i] as number;
      const s = sigmas[i] as number;
      const z = normalCdf((hi - mu) / s) - normalCdf((lo - mu) / s);
      this.logNorm[i] = -Math.log(s * Math.sqrt(2 * Math.PI) * z);
    }
  }

  sample(random: () => number): number {
    const i = Math.min(this.mus.length - 1, Math.floor(random() * this.mus.length));
    const mu = this.mus[i] as number;
    const s = this.sigmas[i] as number;
    for (let tries = 0; tries < 100; tries++) {
      const x = mu + s * normal(random);
      if (x >= this.lo && x <= this.hi) return x;
    }
    return mu;
  }

  logPdf(x: number): number {
    // log-sum-exp over the equally weighted components.
    let maxTerm = -Infinity;
    const terms = new Float64Array(this.mus.length);
    for (let i = 0; i < this.mus.length; i++) {
      const z = (x - (this.mus[i] as number)) / (this.sigmas[i] as number);
      const t = (this.logNorm[i] as number) - 0.5 * z * z;
      terms[i] = t;
      if (t > maxTerm) maxTerm = t;
    }
    let sum = 0;
    for (let i = 0; i < terms.length; i++) sum += Math.exp((terms[i] as number) - maxTerm);
    return maxTerm + Math.log(sum / this.mus.length);
  }
}

/** Category probabilities: counts plus one pseudo-observation spread evenly over the choices. */
function choiceProbabilities(values: readonly ParamValue[], obs: readonly ParamValue[]): Float64Array {
  const k = values.length;
  const p = new Float64Array(k).fill(1 / k);
  for (const v of obs) {
    const i = values.indexOf(v);
    p[i] = (p[i] as number) + 1;
  }
  const total = obs.length + 1;
  for (let i = 0; i < k; i++) p[i] = (p[i] as number) / total;
  return p;
}

function pick(p: Float64Array, random: () => number): number {
  let u = random();
  for (let i = 0; i < p.length - 1; i++) {
    u -= p[i] as number;
    if (u < 0) return i;
  }
  return p.length - 1;
}

function randomParams(ds: readonly Dim[], random: () => number): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  for (const d of ds) {
    if (d.kind === "choice") params[d.name] = d.values[Math.floor(random() * d.values.length)] as ParamValue;
    else params[d.name] = toValue(d, d.lo + random() * (d.hi - d.lo));
  }
  return params;
}

/** Share of finished trials modelled as "good": a quarter, at least one, at most 25 (hyperopt's γ). */
function goodCount(n: number): number {
  return Math.min(25, Math.max(1, Math.ceil(0.25 * n)));
}

function tpeParams(
  ds: readonly Dim[],
  done: readonly Trial[],
  direction: "maximize" | "minimize",
  random: () => number,
): Record<string, ParamValue> {
  const sign = direction === "maximize" ? -1 : 1;
  // Best first; ties keep trial order so the split is deterministic.
  const ranked = [...done].sort((a, b) => sign * (a.value - b.value) || a.index - b.index);
  const nGood = goodCount(ranked.length);
  const good = ranked.slice(0, nGood);
  const rest = ranked.slice(nGood);
  const params: Record<string, ParamValue> = {};
  for (const d of ds) {
    if (d.kind === "choice") {
      const l = choiceProbabilities(
        d.values,
        good.map((t) => t.params[d.name] as ParamValue),
      );
      const g = choiceProbabilities(
        d.values,
        rest.map((t) => t.params[d.name] as ParamValue),
      );
      let best = -1;
      let bestScore = -Infinity;
      for (let c = 0; c < CANDIDATES; c++) {
        const i = pick(l, random);
        const score = Math.log(l[i] as number) - Math.log(g[i] as number);
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
      params[d.name] = d.values[best] as ParamValue;
    } else {
      const obs = (ts: readonly Trial[]): Float64Array =>
        Float64Array.from(ts, (t) => toInternal(d, t.params[d.name] as number));
      const l = new Parzen(obs(good), d.lo, d.hi);
      const g = new Parzen(obs(rest), d.lo, d.hi);
      let best = l.sample(random);
      let bestScore = l.logPdf(best) - g.logPdf(best);
      for (let c = 1; c < CANDIDATES; c++) {
        const x = l.sample(random);
        const score = l.logPdf(x) - g.logPdf(x);
        if (score > bestScore) {
          bestScore = score;
          best = x;
        }
      }
      params[d.name] = toValue(d, best);
    }
  }
  return params;
}

function checkOptions(options: TuneOptions): { seed: number; startup: number } {
  const { trials, direction } = options;
  if (!Number.isInteger(trials) || trials < 1) throw specError("trials", trials, "must be an integer ≥ 1");
  if (direction !== "maximize" && direction !== "minimize")
    throw specError("direction", direction, 'must be "maximize" or "minimize"');
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw specError("seed", seed, "must be an integer in [0, 2^32)");
  const startup = options.startupTrials ?? Math.min(DEFAULT_STARTUP_TRIALS, trials);
  if (!Number.isInteger(startup) || startup < 1) throw specError("startupTrials", startup, "must be an integer ≥ 1");
  return { seed, startup };
}

/**
 * Runs `options.trials` trials one after another: the first `startupTrials` sample the space
 * uniformly (log-uniformly on log scales), the rest come from the TPE. Deterministic for a seed
 * when the objective is. The best trial is the earliest with the best value.
 */
export async function tune(
  space: ParamSpace,
  objective: (params: Record<string, ParamValue>, trial: number) => Promise<number>,
  options: TuneOptions,
): Promise<{ best: Trial; trials: Trial[] }> {
  const ds = dims(parseParamSpace(space));
  const { seed, startup } = checkOptions(options);
  const random = mulberry32(seed);
  const trials: Trial[] = [];
  let best: Trial | undefined;
  for (let index = 0; index < options.trials; index++) {
    const params = index < startup ? randomParams(ds, random) : tpeParams(ds, trials, options.direction, random);
    const value = await objective({ ...params }, index);
    if (typeof value !== "number" || !Number.isFinite(value))
      throw specError(`objective(trial ${index})`, value, "must return a finite number");
    const trial: Trial = { index, params, value };
    trials.push(trial);
    if (best === undefined || (options.direction === "maximize" ? value > best.value : value < best.value))
      best = trial;
  }
  return { best: best as Trial, trials };
}
