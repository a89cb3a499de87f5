/**
 * Behaviour tests: declarative expectations about how a model's score responds to its inputs
 * (monotonic in a feature, moving in a stated direction, indifferent to a column), checked on
 * sampled rows and reported with the rows that break them.
 */
import type { Column, Frame, NumericColumn } from "../data/index.js";
import { takeRows, mulberry32 } from "../data/index.js";
import { sampleIndices } from "../learn/index.js";
import { quantileSorted, sortedFinite } from "../stats/index.js";
import { specArray, specError, specNumber, specObject, specRequired, specString } from "../spec-fields.js";

export type BehaviourTestSpec =
  | {
      test: "monotonic";
      feature: string;
      direction: "increasing" | "decreasing";
      /** Grid points over the feature's observed range; default 20. */
      grid?: number;
      /** Sampled rows; default 200. */
      rows?: number;
      /** Largest score move against the direction that is still accepted; default 0. */
      tolerance?: number;
    }
  | {
      test: "directional";
      feature: string;
      change: number | { set: string | number };
      expect: "increase" | "decrease";
      rows?: number;
      /** Share of rows whose score must move strictly as expected; default 1. */
      minShare?: number;
    }
  | {
      test: "invariance";
      feature: string;
      perturbation: { add: number } | { set: string | number } | { shuffle: true };
      tolerance: number;
      rows?: number;
    };

export const DEFAULT_BEHAVIOUR_ROWS = 200;
export const DEFAULT_MONOTONIC_GRID = 20;
export const DEFAULT_MAX_COUNTER_EXAMPLES = 5;

export interface CounterExample {
  /** Row index in the sample frame. */
  row: number;
  before: { value: unknown; score: number };
  after: { value: unknown; score: number };
}

export interface BehaviourResult {
  test: string;
  feature: string;
  passed: boolean;
  /** Rows checked. */
  checked: number;
  /** Rows that broke the expectation. */
  violations: number;
  /** The worst violations first. */
  counterExamples: CounterExample[];
  message: string;
}

export type ScoreFn = (frame: Frame) => Promise<Float64Array> | Float64Array;

/** Parses a JSON list of behaviour tests; a bad entry throws an InvalidParameterError naming field, value and rule. */
export function parseBehaviourTests(json: unknown, path = "behaviour_tests"): BehaviourTestSpec[] {
  return specArray(json, path).map((item, i) => parseTest(item, `${path}[${i}]`));
}

const ROWS = { integer: true, min: 1 };

function parseTest(item: unknown, p: string): BehaviourTestSpec {
  const kind = specObject(item, p, [
    "test",
    "feature",
    "direction",
    "grid",
    "rows",
    "tolerance",
    "change",
    "expect",
    "minShare",
    "perturbation",
  ]).test;
  switch (kind) {
    case "monotonic": {
      const o = specObject(item, p, ["test", "feature", "direction", "grid", "rows", "tolerance"]);
      const feature = specRequired(specString(o, "feature", p), `${p}.feature`);
      const direction = o.direction;
      if (direction !== "increasing" && direction !== "decreasing")
        throw specError(`${p}.direction`, direction, 'must be "increasing" or "decreasing"');
      const grid = specNumber(o, "grid", p, { integer: true, min: 2 });
      const rows = specNumber(o, "rows", p, ROWS);
      const tolerance = specNumber(o, "tolerance", p, { min: 0 });
      return {
        test: "monotonic",
        feature,
        direction,
        ...(grid === undefined ? {} : { grid }),
        ...(rows === undefined ? {} : { rows }),
        ...(tolerance === undefined ? {} : { tolerance }),
      };
    }
    case "directional": {
      const o = specObject(item, p, ["test", "feature", "change", "expect", "rows", "minShare"]);
      const feature = specRequired(specString(o, "feature", p), `${p}.feature`);
      const expect = o.expect;
      if (expect !== "increase" && expect !== "decrease")
        throw specError(`${p}.expect`, expect, 'must be "increase" or "decrease"');
      let change: number | { set: string | number };
      if (typeof o.change === "number") {
        if (!Number.isFinite(o.change) || o.change === 0)
          throw specError(`${p}.change`, o.change, "must be a finite non-zero number or {set: value}");
        change = o.change;
      } else {
        change = { set: setValue(o.change, `${p}.change`) };
      }
      const rows = specNumber(o, "rows", p, ROWS);
      const minShare = specNumber(o, "minShare", p, { positive: true, max: 1 });
      return {
        test: "directional",
        feature,
        change,
        expect,
        ...(rows === undefined ? {} : { rows }),
        ...(minShare === undefined ? {} : { minShare }),
      };
    }
    case "invariance": {
      const o = specObject(item, p, ["test", "feature", "perturbation", "tolerance", "rows"]);
      const feature = specRequired(specString(o, "feature", p), `${p}.feature`);
      const rows = specNumber(o, "rows", p, ROWS);
      return {
        test: "invariance",
        feature,
        perturbation: perturbation(o.perturbation, `${p}.perturbation`),
        tolerance: specRequired(specNumber(o, "tolerance", p, { min: 0 }), `${p}.tolerance`),
        ...(rows === undefined ? {} : { rows }),
      };
    }
    default:
      throw specError(`${p}.test`, kind, "must be one of monotonic, directional, invariance");
  }
}

/** The value of a `{set: value}` object. */
function setValue(json: unknown, p: string): string | number {
  const rule = "must be {set: value} with a string or finite number";
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw specError(p, json, rule);
  const o = specObject(json, p, ["set"]);
  const v = o.set;
  if (typeof v === "string" || (typeof v === "number" && Number.isFinite(v))) return v;
  throw specError(`${p}.set`, v, rule);
}

function perturbation(json: unknown, p: string): { add: number } | { set: string | number } | { shuffle: true } {
  const rule = "must be one of {add: number}, {set: value}, {shuffle: true}";
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw specError(p, json, rule);
  const keys = Object.keys(json);
  if (keys.length !== 1) throw specError(p, json, rule);
  const o = json as Record<string, unknown>;
  if (keys[0] === "add") {
    const add = specNumber(o, "add", p, {});
    if (add === undefined || add === 0) throw specError(`${p}.add`, o.add, "must be a finite non-zero number");
    return { add };
  }
  if (keys[0] === "set") return { set: setValue(json, p) };
  if (keys[0] === "shuffle") {
    if (o.shuffle !== true) throw specError(`${p}.shuffle`, o.shuffle, "must be true");
    return { shuffle: true };
  }
  throw specError(p, json, rule);
}

/* ---------------------------------------------------------------- running */

interface Context {
  readonly sample: Frame;
  readonly score: ScoreFn;
  readonly seed: number;
  readonly maxCounterExamples: number;
}

/**
 * Runs every test against `score` on rows of `sample` (sampled by `seed`, the same rows for every
 * test of the same size). The suite passes when every test passes.
 */
export async function runBehaviourTests(
  tests: readonly BehaviourTestSpec[],
  score: ScoreFn,
  sample: Frame,
  options: { seed?: number; maxCounterExamples?: number } = {},
): Promise<{ passed: boolean; results: BehaviourResult[] }> {
  const specs = parseBehaviourTests(tests);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw specError("seed", seed, "must be an integer in [0, 2^32)");
  const maxCounterExamples = options.maxCounterExamples ?? DEFAULT_MAX_COUNTER_EXAMPLES;
  if (!Number.isInteger(maxCounterExamples) || maxCounterExamples < 0)
    throw specError("maxCounterExamples", maxCounterExamples, "must be an integer ≥ 0");
  if (sample.nRows < 1) throw specError("sample.nRows", sample.nRows, "must be at least 1");
  const ctx: Context = { sample, score, seed, maxCounterExamples };
  const results: BehaviourResult[] = [];
  for (let i = 0; i < specs.length; i++) {
    const t = specs[i] as BehaviourTestSpec;
    const col = sample.columns.find((c) => c.name === t.feature);
    if (col === undefined) {
      throw specError(
        `behaviour_tests[${i}].feature`,
        t.feature,
        `no such column in the sample; columns: ${sample.columns.map((c) => c.name).join(", ")}`,
      );
    }
    const p = `behaviour_tests[${i}]`;
    switch (t.test) {
      case "monotonic":
        results.push(await monotonic(ctx, t, col, p));
        break;
      case "directional":
        results.push(await directional(ctx, t, col, p, i));
        break;
      case "invariance":
        results.push(await invariance(ctx, t, col, p, i));
        break;
    }
  }
  return { passed: results.every((r) => r.passed), results };
}

async function scoreFrame(ctx: Context, frame: Frame): Promise<Float64Array> {
  const s = await ctx.score(frame);
  if (!(s instanceof Float64Array) || s.length !== frame.nRows)
    throw specError(
      "score(frame).length",
      (s as { length?: unknown } | null)?.length,
      `must be a Float64Array of ${frame.nRows} scores`,
    );
  for (let i = 0; i < s.length; i++) {
    if (!Number.isFinite(s[i])) throw specError(`score(frame)[${i}]`, s[i], "must be a finite number");
  }
  return s;
}

function sampleRows(ctx: Context, rows: number | undefined): Int32Array {
  return sampleIndices(ctx.sample.nRows, rows ?? DEFAULT_BEHAVIOUR_ROWS, mulberry32(ctx.seed));
}

function replaceColumn(frame: Frame, col: Column): Frame {
  return { nRows: frame.nRows, columns: frame.columns.map((c) => (c.name === col.name ? col : c)) };
}

function cellValue(col: Column, i: number): string | number | null {
  if (col.valid !== undefined && col.valid[i] === 0) return null;
  if (col.kind === "numeric") {
    const v = col.values[i] as number;
    return v === v ? v : null;
  }
  const code = col.codes[i] as number;
  return code < 0 ? null : (col.dictionary[code] ?? null);
}

function show(v: unknown): string {
  return typeof v === "number" ? String(Number(v.toPrecision(6))) : JSON.stringify(v);
}

function describeExample(feature: string, c: CounterExample): string {
  return (
    `row ${c.row}: ${feature} ${show(c.before.value)} → ${show(c.after.value)} moved the score ` +
    `${c.before.score.toFixed(4)} → ${c.after.score.toFixed(4)}`
  );
}

/** The counter-examples with the largest `badness`, worst first. */
function worst(examples: { badness: number; example: CounterExample }[], max: number): CounterExample[] {
  return examples
    .sort((a, b) => b.badness - a.badness || a.example.row - b.example.row)
    .slice(0, max)
    .map((e) => e.example);
}

function numericOnly(col: Column, p: string, what: string): asserts col is NumericColumn {
  if (col.kind !== "numeric")
    throw specError(`${p}.feature`, col.name, `${what} needs a numeric column; it is categorical`);
}

async function monotonic(
  ctx: Context,
  t: Extract<BehaviourTestSpec, { test: "monotonic" }>,
  col: Column,
  p: string,
): Promise<BehaviourResult> {
  numericOnly(col, p, "a monotonic test");
  const observed = sortedFinite(col.values);
  if (observed.length === 0) throw specError(`${p}.feature`, col.name, "has no non-null values to span a grid");
  // Grid points at evenly spaced quantiles of the sample; repeated quantiles (few distinct values) collapse.
  const points = t.grid ?? DEFAULT_MONOTONIC_GRID;
  const raw: number[] = [];
  for (let k = 0; k < points; k++) {
    const q = quantileSorted(observed, k / (points - 1));
    if (raw.length === 0 || q > (raw[raw.length - 1] as number)) raw.push(q);
  }
  const grid = Float64Array.from(raw);
  const G = grid.length;
  const rows = sampleRows(ctx, t.rows);
  const R = rows.length;
  // One batch of R × G rows: each sampled row repeated once per grid point.
  const repeated = new Int32Array(R * G);
  const values = new Float64Array(R * G);
  for (let r = 0; r < R; r++) {
    for (let g = 0; g < G; g++) {
      repeated[r * G + g] = rows[r] as number;
      values[r * G + g] = grid[g] as number;
    }
  }
  const batch = replaceColumn(takeRows(ctx.sample, repeated), { kind: "numeric", name: col.name, values });
  const s = await scoreFrame(ctx, batch);
  const sign = t.direction === "increasing" ? 1 : -1;
  const tolerance = t.tolerance ?? 0;
  const bad: { badness: number; example: CounterExample }[] = [];
  for (let r = 0; r < R; r++) {
    const base = r * G;
    // The largest move against the direction between any two grid points i < j: against the
    // running best-so-far score (max for increasing, min for decreasing).
    let best = 0;
    let worstMove = 0;
    let wi = 0;
    let wj = 0;
    for (let j = 1; j < G; j++) {
      const prev = sign * (s[base + j - 1] as number);
      if (prev > sign * (s[base + best] as number)) best = j - 1;
      const move = sign * ((s[base + best] as number) - (s[base + j] as number));
      if (move > worstMove) {
        worstMove = move;
        wi = best;
        wj = j;
      }
    }
    if (worstMove > tolerance) {
      bad.push({
        badness: worstMove,
        example: {
          row: rows[r] as number,
          before: { value: grid[wi], score: s[base + wi] as number },
          after: { value: grid[wj], score: s[base + wj] as number },
        },
      });
    }
  }
  const examples = worst(bad, ctx.maxCounterExamples);
  const head = `behaviour monotonic ${col.name} (${t.direction})`;
  const first = examples[0];
  const message =
    bad.length === 0
      ? `${head} passed: ${R} rows × ${G} grid points over [${show(grid[0])}, ${show(grid[G - 1])}], no move against the direction above ${tolerance}`
      : `${head} failed: ${bad.length} of ${R} rows move against the direction by more than ${tolerance}` +
        (first ? `; worst ${describeExample(col.name, first)}` : "");
  return {
    test: "monotonic",
    feature: col.name,
    passed: bad.length === 0,
    checked: R,
    violations: bad.length,
    counterExamples: examples,
    message,
  };
}

/** The column with every cell set to `value` (categories outside the dictionary are appended to it). */
function setColumn(col: Column, value: string | number, p: string): Column {
  if (col.kind === "numeric") {
    if (typeof value !== "number") throw specError(p, value, `${col.name} is numeric; set it to a number`);
    return { kind: "numeric", name: col.name, values: new Float64Array(col.values.length).fill(value) };
  }
  if (typeof value !== "string") throw specError(p, value, `${col.name} is categorical; set it to a string`);
  let code = col.dictionary.indexOf(value);
  const dictionary = code < 0 ? [...col.dictionary, value] : col.dictionary;
  if (code < 0) code = col.dictionary.length;
  return { kind: "categorical", name: col.name, codes: new Int32Array(col.codes.length).fill(code), dictionary };
}

/** Adds `delta` to a numeric column; nulls stay null. */
function addColumn(col: Column, delta: number, p: string): Column {
  numericOnly(col, p, "adding a number");
  const values = new Float64Array(col.values.length);
  for (let i = 0; i < values.length; i++) values[i] = (col.values[i] as number) + delta;
  return col.valid === undefined
    ? { kind: "numeric", name: col.name, values }
    : { kind: "numeric", name: col.name, values, valid: col.valid };
}

/** The column's cells permuted among the rows (a seeded Fisher–Yates). */
function shuffleColumn(col: Column, random: () => number): Column {
  const n = col.kind === "numeric" ? col.values.length : col.codes.length;
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = tmp;
  }
  return takeRows({ nRows: n, columns: [col] }, perm).columns[0] as Column;
}

interface Perturbed {
  rows: Int32Array;
  before: Frame;
  after: Frame;
  beforeCol: Column;
  afterCol: Column;
  /** Rows (positions in `rows`) the perturbation applies to: null cells cannot be shifted by a number. */
  applies: (k: number) => boolean;
}

function perturb(
  ctx: Context,
  col: Column,
  rowsWanted: number | undefined,
  how: { add: number } | { set: string | number } | { shuffle: true },
  p: string,
  index: number,
): Perturbed {
  const rows = sampleRows(ctx, rowsWanted);
  const before = takeRows(ctx.sample, rows);
  const beforeCol = before.columns.find((c) => c.name === col.name) as Column;
  let afterCol: Column;
  let applies: (k: number) => boolean = () => true;
  if ("add" in how) {
    afterCol = addColumn(beforeCol, how.add, p);
    applies = (k) => cellValue(beforeCol, k) !== null;
  } else if ("set" in how) {
    afterCol = setColumn(beforeCol, how.set, `${p}.set`);
  } else {
    // The shuffle's own stream per test, so it does not repeat the row sampler's draws.
    afterCol = shuffleColumn(beforeCol, mulberry32(ctx.seed + 0x9e3779b9 * (index + 1)));
  }
  return { rows, before, after: replaceColumn(before, afterCol), beforeCol, afterCol, applies };
}

async function directional(
  ctx: Context,
  t: Extract<BehaviourTestSpec, { test: "directional" }>,
  col: Column,
  p: string,
  index: number,
): Promise<BehaviourResult> {
  const how = typeof t.change === "number" ? { add: t.change } : t.change;
  const x = perturb(ctx, col, t.rows, how, `${p}.change`, index);
  const s0 = await scoreFrame(ctx, x.before);
  const s1 = await scoreFrame(ctx, x.after);
  const sign = t.expect === "increase" ? 1 : -1;
  const minShare = t.minShare ?? 1;
  let checked = 0;
  let wrongWay = 0;
  let still = 0;
  const bad: { badness: number; example: CounterExample }[] = [];
  for (let k = 0; k < x.rows.length; k++) {
    if (!x.applies(k)) continue;
    checked++;
    const move = sign * ((s1[k] as number) - (s0[k] as number));
    if (move > 0) continue;
    if (move < 0) wrongWay++;
    else still++;
    bad.push({
      badness: -move,
      example: {
        row: x.rows[k] as number,
        before: { value: cellValue(x.beforeCol, k), score: s0[k] as number },
        after: { value: cellValue(x.afterCol, k), score: s1[k] as number },
      },
    });
  }
  const share = checked === 0 ? 0 : (checked - bad.length) / checked;
  const passed = checked > 0 && share >= minShare;
  const change =
    typeof t.change === "number" ? (t.change > 0 ? `+${t.change}` : String(t.change)) : `set ${show(t.change.set)}`;
  const head = `behaviour directional ${col.name} ${change} (expect ${t.expect})`;
  const examples = worst(bad, ctx.maxCounterExamples);
  const first = examples[0];
  const pctText = (v: number): string => `${(v * 100).toFixed(2)}%`;
  const message =
    checked === 0
      ? `${head} failed: no sampled row has a ${col.name} value to change`
      : `${head} ${passed ? "passed" : "failed"}: ${checked - bad.length} of ${checked} rows moved as expected ` +
        `(${pctText(share)} ${passed ? "≥" : "<"} ${pctText(minShare)}); ${wrongWay} moved the other way, ${still} did not move` +
        (first && !passed ? `; worst ${describeExample(col.name, first)}` : "");
  return {
    test: "directional",
    feature: col.name,
    passed,
    checked,
    violations: bad.length,
    counterExamples: examples,
    message,
  };
}

async function invariance(
  ctx: Context,
  t: Extract<BehaviourTestSpec, { test: "invariance" }>,
  col: Column,
  p: string,
  index: number,
): Promise<BehaviourResult> {
  const x = perturb(ctx, col, t.rows, t.perturbation, `${p}.perturbation`, index);
  const s0 = await scoreFrame(ctx, x.before);
  const s1 = await scoreFrame(ctx, x.after);
  let checked = 0;
  const bad: { badness: number; example: CounterExample }[] = [];
  for (let k = 0; k < x.rows.length; k++) {
    if (!x.applies(k)) continue;
    checked++;
    const d = Math.abs((s1[k] as number) - (s0[k] as number));
    if (d > t.tolerance) {
      bad.push({
        badness: d,
        example: {
          row: x.rows[k] as number,
          before: { value: cellValue(x.beforeCol, k), score: s0[k] as number },
          after: { value: cellValue(x.afterCol, k), score: s1[k] as number },
        },
      });
    }
  }
  const how =
    "add" in t.perturbation
      ? `add ${t.perturbation.add}`
      : "set" in t.perturbation
        ? `set ${show(t.perturbation.set)}`
        : "shuffle";
  const head = `behaviour invariance ${col.name} (${how})`;
  const passed = checked > 0 && bad.length === 0;
  const examples = worst(bad, ctx.maxCounterExamples);
  const first = examples[0];
  const message =
    checked === 0
      ? `${head} failed: no sampled row has a ${col.name} value to change`
      : passed
        ? `${head} passed: ${checked} rows, every score within ${t.tolerance}`
        : `${head} failed: ${bad.length} of ${checked} rows moved by more than ${t.tolerance}` +
          (first ? `; worst ${describeExample(col.name, first)}` : "");
  return {
    test: "invariance",
    feature: col.name,
    passed,
    checked,
    violations: bad.length,
    counterExamples: examples,
    message,
  };
}
