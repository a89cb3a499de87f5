/**
 * ReferenceProfile ⇄ JSON. Typed arrays become number arrays; an unbounded reservoir
 * (`Infinity`) is written as null. Reading validates the shape and names the offending field.
 */
import { specArray, specError, specNumberValue, specObject, specRequired } from "../spec-fields.js";
import type { QuantileSketch } from "./sketch.js";
import type {
  CategoricalProfile,
  FeatureProfile,
  NumericProfile,
  ReferenceProfile,
  SegmentReference,
} from "./reference-profile.js";

interface SketchStoreJson {
  keys: number[];
  counts: number[];
}
interface SketchJson {
  alpha: number;
  zeroCount: number;
  positive: SketchStoreJson;
  negative: SketchStoreJson;
}
/** JSON has no NaN: empty columns write null for mean/min/max. */
interface NumericProfileJson {
  kind: "numeric";
  name: string;
  count: number;
  nullCount: number;
  mean: number | null;
  m2: number;
  min: number | null;
  max: number | null;
  psiEdges: number[];
  psiCounts: number[];
  histEdges: number[];
  histCounts: number[];
  sketch: SketchJson;
  distinct: { values: number[]; counts: number[] } | null;
  sample: number[];
}
interface CategoricalProfileJson {
  kind: "categorical";
  name: string;
  count: number;
  nullCount: number;
  categories: string[];
  counts: number[];
}
export interface ReferenceProfileJson {
  version: 1;
  rows: number;
  reservoirSize: number | null;
  seed: number;
  features: (NumericProfileJson | CategoricalProfileJson)[];
  prediction: NumericProfileJson | null;
  excluded: { name: string; reason: string }[];
  segments?: { column: string; value: string; profile: ReferenceProfileJson }[];
}

function nanToNull(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}

function sketchJson(s: QuantileSketch): SketchJson {
  return {
    alpha: s.alpha,
    zeroCount: s.zeroCount,
    positive: { keys: Array.from(s.positive.keys), counts: Array.from(s.positive.counts) },
    negative: { keys: Array.from(s.negative.keys), counts: Array.from(s.negative.counts) },
  };
}

function numericJson(p: NumericProfile): NumericProfileJson {
  return {
    kind: "numeric",
    name: p.name,
    count: p.count,
    nullCount: p.nullCount,
    mean: nanToNull(p.mean),
    m2: p.m2,
    min: nanToNull(p.min),
    max: nanToNull(p.max),
    psiEdges: Array.from(p.psiEdges),
    psiCounts: Array.from(p.psiCounts),
    histEdges: Array.from(p.histEdges),
    histCounts: Array.from(p.histCounts),
    sketch: sketchJson(p.sketch),
    distinct: p.distinct ? { values: Array.from(p.distinct.values), counts: Array.from(p.distinct.counts) } : null,
    sample: Array.from(p.sample),
  };
}

export function profileToJson(p: ReferenceProfile): ReferenceProfileJson {
  return {
    version: 1,
    rows: p.rows,
    reservoirSize: Number.isFinite(p.reservoirSize) ? p.reservoirSize : null,
    seed: p.seed,
    features: p.features.map((f) =>
      f.kind === "numeric"
        ? numericJson(f)
        : {
            kind: "categorical",
            name: f.name,
            count: f.count,
            nullCount: f.nullCount,
            categories: [...f.categories],
            counts: Array.from(f.counts),
          },
    ),
    prediction: p.prediction ? numericJson(p.prediction) : null,
    excluded: p.excluded.map((e) => ({ ...e })),
    ...(p.segments !== undefined
      ? { segments: p.segments.map((s) => ({ column: s.column, value: s.value, profile: profileToJson(s.profile) })) }
      : {}),
  };
}

type Obj = Readonly<Record<string, unknown>>;

const COUNT = { integer: true, min: 0 } as const;

function num(o: Obj, key: string, path: string, rule: { integer?: boolean; min?: number } = {}): number {
  return specNumberValue(specRequired(o[key], `${path}.${key}`), `${path}.${key}`, rule);
}

function numOrNull(o: Obj, key: string, path: string): number | null {
  return o[key] === null ? null : num(o, key, path);
}

function nums(o: Obj, key: string, path: string, integer = false): Float64Array {
  const field = `${path}.${key}`;
  const list = specArray(specRequired(o[key], field), field);
  return Float64Array.from(list, (v, i) => specNumberValue(v, `${field}[${i}]`, { integer }));
}

function text(o: Obj, key: string, path: string): string {
  const v = specRequired(o[key], `${path}.${key}`);
  if (typeof v !== "string") throw specError(`${path}.${key}`, v, "must be a string");
  return v;
}

function sketchFrom(json: unknown, path: string): QuantileSketch {
  const o = specObject(json, path, ["alpha", "zeroCount", "positive", "negative"]);
  const alpha = num(o, "alpha", path);
  if (!(alpha > 0 && alpha < 1)) throw specError(`${path}.alpha`, alpha, "must be > 0, < 1");
  const store = (key: string) => {
    const s = specObject(o[key], `${path}.${key}`, ["keys", "counts"]);
    return {
      keys: Int32Array.from(nums(s, "keys", `${path}.${key}`, true)),
      counts: nums(s, "counts", `${path}.${key}`),
    };
  };
  return { alpha, zeroCount: num(o, "zeroCount", path), positive: store("positive"), negative: store("negative") };
}

const NUMERIC_FIELDS = ["kind", "name", "count", "nullCount", "mean", "m2", "min", "max", "psiEdges", "psiCounts"];
const NUMERIC_REST = ["histEdges", "histCounts", "sketch", "distinct", "sample"];

function numericFrom(json: unknown, path: string): NumericProfile {
  const o = specObject(json, path, [...NUMERIC_FIELDS, ...NUMERIC_REST]);
  if (o.kind !== "numeric") throw specError(`${path}.kind`, o.kind, 'must be "numeric"');
  const distinct = o.distinct === null ? null : specObject(o.distinct, `${path}.distinct`, ["values", "counts"]);
  return {
    kind: "numeric",
    name: text(o, "name", path),
    count: num(o, "count", path, COUNT),
    nullCount: num(o, "nullCount", path, COUNT),
    mean: numOrNull(o, "mean", path) ?? Number.NaN,
    m2: num(o, "m2", path),
    min: numOrNull(o, "min", path) ?? Number.NaN,
    max: numOrNull(o, "max", path) ?? Number.NaN,
    psiEdges: nums(o, "psiEdges", path),
    psiCounts: nums(o, "psiCounts", path),
    histEdges: nums(o, "histEdges", path),
    histCounts: nums(o, "histCounts", path),
    sketch: sketchFrom(o.sketch, `${path}.sketch`),
    distinct: distinct
      ? { values: nums(distinct, "values", `${path}.distinct`), counts: nums(distinct, "counts", `${path}.distinct`) }
      : null,
    sample: nums(o, "sample", path),
  };
}

function categoricalFrom(o: Obj, path: string): CategoricalProfile {
  specObject(o, path, ["kind", "name", "count", "nullCount", "categories", "counts"]);
  const categories = specArray(specRequired(o.categories, `${path}.categories`), `${path}.categories`);
  return {
    kind: "categorical",
    name: text(o, "name", path),
    count: num(o, "count", path, COUNT),
    nullCount: num(o, "nullCount", path, COUNT),
    categories: categories.map((c, i) => {
      if (typeof c !== "string") throw specError(`${path}.categories[${i}]`, c, "must be a string");
      return c;
    }),
    counts: nums(o, "counts", path),
  };
}

function featureFrom(json: unknown, path: string): FeatureProfile {
  const o = specObject(json, path, [...NUMERIC_FIELDS, ...NUMERIC_REST, "categories", "counts"]);
  if (o.kind === "numeric") return numericFrom(o, path);
  if (o.kind === "categorical") return categoricalFrom(o, path);
  throw specError(`${path}.kind`, o.kind, "must be numeric or categorical");
}

/** Parse and validate a profile read from JSON; errors say `field = value: rule` (`features[0].count = "many": …`). */
export function profileFromJson(value: unknown, path = "profile"): ReferenceProfile {
  const o = specObject(value, path, [
    "version",
    "rows",
    "reservoirSize",
    "seed",
    "features",
    "prediction",
    "excluded",
    "segments",
  ]);
  if (o.version !== 1) throw specError(`${path}.version`, o.version, "must be 1");
  const reservoir = o.reservoirSize === null ? null : num(o, "reservoirSize", path, { integer: true, min: 1 });
  const features = specArray(specRequired(o.features, `${path}.features`), `${path}.features`);
  const excluded = specArray(o.excluded ?? [], `${path}.excluded`).map((e, i) => {
    const x = specObject(e, `${path}.excluded[${i}]`, ["name", "reason"]);
    return { name: text(x, "name", `${path}.excluded[${i}]`), reason: text(x, "reason", `${path}.excluded[${i}]`) };
  });
  return {
    version: 1,
    rows: num(o, "rows", path, COUNT),
    reservoirSize: reservoir ?? Number.POSITIVE_INFINITY,
    seed: num(o, "seed", path, { integer: true }),
    features: features.map((f, i) => featureFrom(f, `${path}.features[${i}]`)),
    prediction: o.prediction === null ? null : numericFrom(o.prediction, `${path}.prediction`),
    excluded,
    ...(o.segments === undefined ? {} : { segments: segmentsFrom(o.segments, `${path}.segments`) }),
  };
}

function segmentsFrom(json: unknown, path: string): SegmentReference[] {
  return specArray(json, path).map((e, i) => {
    const at = `${path}[${i}]`;
    const x = specObject(e, at, ["column", "value", "profile"]);
    const profile = profileFromJson(specRequired(x.profile, `${at}.profile`), `${at}.profile`);
    return { column: text(x, "column", at), value: text(x, "value", at), profile };
  });
}
