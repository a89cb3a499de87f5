/**
 * ReferenceProfile ⇄ JSON. Typed arrays become number arrays; an unbounded reservoir
 * (`Infinity`) is written as null. Reading validates the shape and names the offending field.
 */
import { z } from "zod";
import { InvalidParameterError } from "../errors.js";
import type { QuantileSketch } from "./sketch.js";
import type { CategoricalProfile, FeatureProfile, NumericProfile, ReferenceProfile } from "./reference-profile.js";

const nums = z.array(z.number());
const ints = z.array(z.number().int());
const store = z.object({ keys: ints, counts: nums });
const sketch = z.object({ alpha: z.number().gt(0).lt(1), zeroCount: z.number(), positive: store, negative: store });
/** JSON has no NaN: empty columns write null for mean/min/max. */
const maybe = z.number().nullable();
const numeric = z.object({
  kind: z.literal("numeric"),
  name: z.string(),
  count: z.number().int().nonnegative(),
  nullCount: z.number().int().nonnegative(),
  mean: maybe,
  m2: z.number(),
  min: maybe,
  max: maybe,
  psiEdges: nums,
  psiCounts: nums,
  histEdges: nums,
  histCounts: nums,
  sketch,
  distinct: z.object({ values: nums, counts: nums }).nullable(),
  sample: nums,
});
const categorical = z.object({
  kind: z.literal("categorical"),
  name: z.string(),
  count: z.number().int().nonnegative(),
  nullCount: z.number().int().nonnegative(),
  categories: z.array(z.string()),
  counts: nums,
});
const profileSchema = z.object({
  version: z.literal(1),
  rows: z.number().int().nonnegative(),
  reservoirSize: z.number().int().positive().nullable(),
  seed: z.number().int(),
  features: z.array(z.discriminatedUnion("kind", [numeric, categorical])),
  prediction: numeric.nullable(),
  excluded: z.array(z.object({ name: z.string(), reason: z.string() })).default([]),
});

export type ReferenceProfileJson = z.infer<typeof profileSchema>;

function nanToNull(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}

function sketchJson(s: QuantileSketch): z.infer<typeof sketch> {
  return {
    alpha: s.alpha,
    zeroCount: s.zeroCount,
    positive: { keys: Array.from(s.positive.keys), counts: Array.from(s.positive.counts) },
    negative: { keys: Array.from(s.negative.keys), counts: Array.from(s.negative.counts) },
  };
}

function numericJson(p: NumericProfile): z.infer<typeof numeric> {
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
  };
}

function numericFrom(j: z.infer<typeof numeric>): NumericProfile {
  return {
    kind: "numeric",
    name: j.name,
    count: j.count,
    nullCount: j.nullCount,
    mean: j.mean ?? Number.NaN,
    m2: j.m2,
    min: j.min ?? Number.NaN,
    max: j.max ?? Number.NaN,
    psiEdges: Float64Array.from(j.psiEdges),
    psiCounts: Float64Array.from(j.psiCounts),
    histEdges: Float64Array.from(j.histEdges),
    histCounts: Float64Array.from(j.histCounts),
    sketch: {
      alpha: j.sketch.alpha,
      zeroCount: j.sketch.zeroCount,
      positive: { keys: Int32Array.from(j.sketch.positive.keys), counts: Float64Array.from(j.sketch.positive.counts) },
      negative: { keys: Int32Array.from(j.sketch.negative.keys), counts: Float64Array.from(j.sketch.negative.counts) },
    },
    distinct: j.distinct
      ? { values: Float64Array.from(j.distinct.values), counts: Float64Array.from(j.distinct.counts) }
      : null,
    sample: Float64Array.from(j.sample),
  };
}

/** Parse and validate a profile read from JSON. */
export function profileFromJson(value: unknown): ReferenceProfile {
  const r = profileSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue ? issue.path.join(".") || "profile" : "profile";
    throw new InvalidParameterError(`reference profile field "${field}": ${issue?.message ?? "invalid"}`, {
      details: { field, rule: issue?.message ?? "valid ReferenceProfile JSON" },
    });
  }
  const j = r.data;
  const features: FeatureProfile[] = j.features.map((f) =>
    f.kind === "numeric"
      ? numericFrom(f)
      : ({
          kind: "categorical",
          name: f.name,
          count: f.count,
          nullCount: f.nullCount,
          categories: f.categories,
          counts: Float64Array.from(f.counts),
        } satisfies CategoricalProfile),
  );
  return {
    version: j.version,
    rows: j.rows,
    reservoirSize: j.reservoirSize ?? Number.POSITIVE_INFINITY,
    seed: j.seed,
    features,
    prediction: j.prediction ? numericFrom(j.prediction) : null,
    excluded: j.excluded,
  };
}
