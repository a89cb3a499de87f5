import { z } from "zod";
import { invalidInput } from "./input-table.js";
import { DEFAULT_CANARY_STEPS, type CanarySchedule } from "./router.js";

/**
 * Traffic policy of one endpoint, as written in the endpoints JSON file or sent to
 * `PUT /api/keel/endpoints/{name}`. Model references name a version or an alias; `model`
 * defaults to the endpoint's model.
 */
const modelRef = z
  .object({
    model: z.string().min(1).optional(),
    version: z.string().min(1).optional(),
    alias: z.string().min(1).optional(),
  })
  .strict()
  .refine((r) => (r.version === undefined) !== (r.alias === undefined), {
    message: "must name exactly one of version or alias",
  });

const endpointSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "must be 1-128 letters, digits, '.', '_' or '-'"),
    model: z.string().min(1),
    champion: modelRef.optional(),
    challenger: z
      .object({
        model: z.string().min(1).optional(),
        version: z.string().optional(),
        alias: z.string().optional(),
        percent: z.number().min(0).max(100),
      })
      .strict()
      .optional(),
    canary: z
      .object({
        model: z.string().min(1).optional(),
        version: z.string().optional(),
        alias: z.string().optional(),
        steps: z.array(z.number().gt(0).max(100)).min(1).optional(),
        stepSeconds: z.number().positive().optional(),
        maxErrorRate: z.number().min(0).max(1).optional(),
        minRequests: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    shadows: z.array(modelRef).optional(),
    entityKey: z.string().min(1).optional(),
    deadlineMs: z.number().positive().optional(),
    fallback: z
      .union([
        z.object({ previousVersion: z.literal(true), score: z.number().optional() }).strict(),
        z.object({ score: z.number() }).strict(),
      ])
      .optional(),
    cache: z
      .object({ ttlSeconds: z.number().positive().optional(), maxEntries: z.number().int().min(1).optional() })
      .strict()
      .optional(),
    inferenceLog: z
      .object({ sampleRate: z.number().min(0).max(1).optional(), audit: z.enum(["sync", "async"]).optional() })
      .strict()
      .optional(),
    decision: z
      .object({ threshold: z.number().optional(), positive: z.string().optional(), negative: z.string().optional() })
      .strict()
      .optional(),
    input: z
      .object({ ranges: z.enum(["reject", "accept"]).optional(), categories: z.enum(["reject", "accept"]).optional() })
      .strict()
      .optional(),
  })
  .strict();

export type EndpointConfigInput = z.input<typeof endpointSchema>;

export interface ResolvedRef {
  readonly model: string;
  readonly version?: string;
  readonly alias?: string;
}

export interface EndpointConfig {
  readonly name: string;
  readonly model: string;
  readonly champion: ResolvedRef;
  readonly challenger?: ResolvedRef & { readonly percent: number };
  readonly canary?: ResolvedRef & { readonly schedule: CanarySchedule };
  readonly shadows: readonly ResolvedRef[];
  readonly entityKey?: string;
  readonly deadlineMs?: number;
  readonly fallback?: { readonly previousVersion: boolean; readonly score?: number };
  readonly cache?: { readonly ttlMs: number; readonly maxEntries: number };
  readonly inferenceLog: { readonly sampleRate: number; readonly audit: "sync" | "async" };
  readonly decision: { readonly threshold: number; readonly positive: string; readonly negative: string };
  readonly input: InputPolicy;
  /** True when the endpoint came from configuration rather than a model's `champion` alias. */
  readonly configured: boolean;
}

/**
 * What the door does with a value outside the signature's range or category set. `reject`
 * (default): a 400 naming the field. `accept`: the model scores it (an unknown category as a
 * missing value) and the inference log keeps it, where monitoring's `out_of_range_rate` and
 * `unseen_categories` count it. Types and required fields are always enforced.
 */
export interface InputPolicy {
  readonly ranges: "reject" | "accept";
  readonly categories: "reject" | "accept";
}

export const STRICT_INPUT: InputPolicy = { ranges: "reject", categories: "reject" };

export interface EndpointDefaults {
  readonly inferenceLog: { readonly sampleRate: number; readonly audit: "sync" | "async" };
}

export const DEFAULT_ENDPOINT_DEFAULTS: EndpointDefaults = {
  inferenceLog: { sampleRate: 1, audit: "async" },
};

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let v = obj;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function ref(
  r: { model?: string | undefined; version?: string | undefined; alias?: string | undefined },
  model: string,
  field: string,
): ResolvedRef {
  if ((r.version === undefined) === (r.alias === undefined))
    throw invalidInput(field, r, "must name exactly one of version or alias");
  return r.version !== undefined
    ? { model: r.model ?? model, version: r.version }
    : { model: r.model ?? model, alias: r.alias };
}

/** Validate one endpoint document; errors name the field (`endpoint.challenger.percent`), value and rule. */
export function parseEndpointConfig(
  input: unknown,
  defaults: EndpointDefaults = DEFAULT_ENDPOINT_DEFAULTS,
  field = "endpoint",
): EndpointConfig {
  const parsed = endpointSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    throw invalidInput([field, ...path.map(String)].join("."), valueAt(input, path), issue?.message ?? "is invalid");
  }
  const c = parsed.data;
  const canary = c.canary;
  return {
    name: c.name,
    model: c.model,
    champion: c.champion ? ref(c.champion, c.model, `${field}.champion`) : { model: c.model, alias: "champion" },
    ...(c.challenger
      ? { challenger: { ...ref(c.challenger, c.model, `${field}.challenger`), percent: c.challenger.percent } }
      : {}),
    ...(canary
      ? {
          canary: {
            ...ref(canary, c.model, `${field}.canary`),
            schedule: {
              steps: canary.steps ?? DEFAULT_CANARY_STEPS,
              stepMs: (canary.stepSeconds ?? 600) * 1000,
              maxErrorRate: canary.maxErrorRate ?? 0.05,
              minRequests: canary.minRequests ?? 20,
            },
          },
        }
      : {}),
    shadows: (c.shadows ?? []).map((s, i) => ref(s, c.model, `${field}.shadows[${i}]`)),
    ...(c.entityKey !== undefined ? { entityKey: c.entityKey } : {}),
    ...(c.deadlineMs !== undefined ? { deadlineMs: c.deadlineMs } : {}),
    ...(c.fallback
      ? {
          fallback: {
            previousVersion: "previousVersion" in c.fallback,
            ...(c.fallback.score !== undefined ? { score: c.fallback.score } : {}),
          },
        }
      : {}),
    ...(c.cache
      ? { cache: { ttlMs: (c.cache.ttlSeconds ?? 60) * 1000, maxEntries: c.cache.maxEntries ?? 10_000 } }
      : {}),
    inferenceLog: {
      sampleRate: c.inferenceLog?.sampleRate ?? defaults.inferenceLog.sampleRate,
      audit: c.inferenceLog?.audit ?? defaults.inferenceLog.audit,
    },
    decision: {
      threshold: c.decision?.threshold ?? 0.5,
      positive: c.decision?.positive ?? "positive",
      negative: c.decision?.negative ?? "negative",
    },
    input: {
      ranges: c.input?.ranges ?? STRICT_INPUT.ranges,
      categories: c.input?.categories ?? STRICT_INPUT.categories,
    },
    configured: true,
  };
}

const batchingSchema = z
  .object({ maxBatchSize: z.number().int().min(1).optional(), maxLatencyMs: z.number().min(0).optional() })
  .strict();

export interface ServingFile {
  readonly endpoints: EndpointConfig[];
  readonly batching?: { maxBatchSize?: number; maxLatencyMs?: number };
  readonly modelBatching: Record<string, { maxBatchSize?: number; maxLatencyMs?: number }>;
}

function batching(input: unknown, field: string): { maxBatchSize?: number; maxLatencyMs?: number } {
  const r = batchingSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path ?? [];
    throw invalidInput([field, ...path.map(String)].join("."), valueAt(input, path), issue?.message ?? "is invalid");
  }
  const out: { maxBatchSize?: number; maxLatencyMs?: number } = {};
  if (r.data.maxBatchSize !== undefined) out.maxBatchSize = r.data.maxBatchSize;
  if (r.data.maxLatencyMs !== undefined) out.maxLatencyMs = r.data.maxLatencyMs;
  return out;
}

/**
 * The serving file: `{"endpoints": [...], "batching": {...}, "models": {"<name>": {"batching": {...}}}}`
 * (a bare array is read as the endpoints).
 */
export function parseServingFile(input: unknown, defaults: EndpointDefaults = DEFAULT_ENDPOINT_DEFAULTS): ServingFile {
  const doc = (Array.isArray(input) ? { endpoints: input } : input) as Record<string, unknown> | null;
  if (doc === null || typeof doc !== "object") throw invalidInput("serving file", input, "must be a JSON object");
  const list = doc.endpoints ?? [];
  if (!Array.isArray(list)) throw invalidInput("endpoints", list, "must be an array of endpoint objects");
  const endpoints = list.map((e, i) => parseEndpointConfig(e, defaults, `endpoints[${i}]`));
  const seen = new Set<string>();
  for (const [i, e] of endpoints.entries()) {
    if (seen.has(e.name)) throw invalidInput(`endpoints[${i}].name`, e.name, "must be unique");
    seen.add(e.name);
  }
  const modelBatching: Record<string, { maxBatchSize?: number; maxLatencyMs?: number }> = {};
  const models = doc.models ?? {};
  if (models === null || typeof models !== "object" || Array.isArray(models)) {
    throw invalidInput("models", models, "must be an object of model name to settings");
  }
  for (const [name, m] of Object.entries(models as Record<string, unknown>)) {
    const b = m !== null && typeof m === "object" ? (m as { batching?: unknown }).batching : undefined;
    if (b !== undefined) modelBatching[name] = batching(b, `models.${name}.batching`);
  }
  return {
    endpoints,
    ...(doc.batching !== undefined ? { batching: batching(doc.batching, "batching") } : {}),
    modelBatching,
  };
}

/** The endpoint keel creates for a model with a `champion` alias and no configured endpoint. */
export function defaultEndpoint(model: string, defaults: EndpointDefaults = DEFAULT_ENDPOINT_DEFAULTS): EndpointConfig {
  return {
    name: model,
    model,
    champion: { model, alias: "champion" },
    shadows: [],
    inferenceLog: defaults.inferenceLog,
    decision: { threshold: 0.5, positive: "positive", negative: "negative" },
    input: STRICT_INPUT,
    configured: false,
  };
}
