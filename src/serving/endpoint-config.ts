import {
  specArray,
  specError,
  specNumber,
  specNumberValue,
  specObject,
  specOneOf,
  specRequired,
  specString,
} from "../spec-fields.js";
import { DECISION_LABELS } from "../wire/index.js";
import { parseLimits, type InputLimits } from "./limits.js";
import { parseReviewPolicy, type ReviewPolicy } from "./review-rules.js";
import { DEFAULT_CANARY_STEPS, type CanarySchedule } from "./router.js";

/**
 * Traffic policy of one endpoint, as written in the endpoints JSON file or sent to
 * `PUT /api/keel/endpoints/{name}`. Model references name a version or an alias; `model`
 * defaults to the endpoint's model.
 */
export interface EndpointConfigInput {
  name: string;
  model: string;
  champion?: ModelRefInput;
  challenger?: ModelRefInput & { percent: number };
  canary?: ModelRefInput & {
    steps?: number[];
    stepSeconds?: number;
    maxErrorRate?: number;
    minRequests?: number;
    gate?: { gate: "challenger_beats_champion"; minAucGain?: number; alpha?: number };
  };
  shadows?: ModelRefInput[];
  entityKey?: string;
  featureService?: string;
  required?: boolean;
  deadlineMs?: number;
  fallback?: { previousVersion: true; score?: number } | { score: number };
  cache?: { ttlSeconds?: number; maxEntries?: number };
  inferenceLog?: { sampleRate?: number; audit?: "sync" | "async" };
  decision?: { threshold?: number; positive?: string; negative?: string };
  input?: { ranges?: "reject" | "accept"; categories?: "reject" | "accept" };
  record?: "all" | "sampled";
  explain?: { top_k?: number };
  limits?: Record<string, { min?: number; max?: number; values?: (string | number)[] }>;
  review?: {
    scoreBand?: { min: number; max: number };
    sampleRate?: number;
    rules?: string[];
    interimDecision?: string;
  };
}

interface ModelRefInput {
  model?: string;
  version?: string;
  alias?: string;
}

export interface ResolvedRef {
  readonly model: string;
  readonly version?: string;
  readonly alias?: string;
}

/**
 * The gate a canary must pass before each advance (`challenger_beats_champion`): on the labelled
 * requests both answered, the canary's AUC gain over the champion must clear `minAucGain` with
 * the whole (1 − alpha) DeLong confidence interval. Evaluated by the server (docs/serving.md).
 */
export interface CanaryGateSpec {
  readonly gate: "challenger_beats_champion";
  readonly minAucGain: number;
  readonly alpha: number;
}

export interface EndpointConfig {
  readonly name: string;
  readonly model: string;
  readonly champion: ResolvedRef;
  readonly challenger?: ResolvedRef & { readonly percent: number };
  readonly canary?: ResolvedRef & { readonly schedule: CanarySchedule; readonly gate?: CanaryGateSpec };
  readonly shadows: readonly ResolvedRef[];
  readonly entityKey?: string;
  /**
   * A feature service of the applied feature repository: requests then carry entity keys (and
   * request-time fields) and the server looks the model's features up in the online store.
   */
  readonly featureService?: string;
  /**
   * True when the server is not ready (`/v2/health/ready`, `/ping`) until this endpoint's models
   * are loaded; other endpoints that fail to load are reported on their own. Default false.
   */
  readonly required: boolean;
  readonly deadlineMs?: number;
  readonly fallback?: { readonly previousVersion: boolean; readonly score?: number };
  readonly cache?: { readonly ttlMs: number; readonly maxEntries: number };
  readonly inferenceLog: { readonly sampleRate: number; readonly audit: "sync" | "async" };
  /**
   * Decision labels, and the threshold when the endpoint overrides the one stored on each served
   * version (`keel evaluate --set-threshold`); without either, 0.5.
   */
  readonly decision: { readonly threshold?: number; readonly positive: string; readonly negative: string };
  readonly input: InputPolicy;
  /**
   * `all`: every served decision is recorded (docs/decisions.md); `sampled`: only the share
   * `inferenceLog.sampleRate` keeps. Default `all`, or `sampled` when the sample rate is below 1.
   */
  readonly record: "all" | "sampled";
  /** Reason codes on every decision: the top-k inputs by |SHAP contribution|. Absent: none. */
  readonly explain?: { readonly topK: number };
  /** Hard business limits the endpoint refuses values outside of (declared by the user, not observed). */
  readonly limits?: InputLimits;
  /** Which decisions go to the human review queue (docs/review.md); absent: none. */
  readonly review?: ReviewPolicy;
  /** True when the endpoint came from configuration rather than a model's `champion` alias. */
  readonly configured: boolean;
}

/**
 * What the door does with a value outside the signature's range or category set — what training
 * happened to observe, not a rule of the business. `accept` (default): the model scores it (an
 * unknown category as a missing value) and the inference log keeps it, where monitoring's
 * `out_of_range_rate` and `unseen_categories` count it and the default data-quality rules alert on
 * it. `reject`: a 400 naming the field. Types and required fields are always enforced; hard limits
 * of the business are declared apart, as the endpoint's `limits`.
 */
export interface InputPolicy {
  readonly ranges: "reject" | "accept";
  readonly categories: "reject" | "accept";
}

export const DEFAULT_INPUT_POLICY: InputPolicy = { ranges: "accept", categories: "accept" };

/** The default decision: threshold 0.5, labels from the one decision vocabulary. */
export const DEFAULT_DECISION: EndpointConfig["decision"] = {
  positive: DECISION_LABELS[0],
  negative: DECISION_LABELS[1],
};

export interface EndpointDefaults {
  readonly inferenceLog: { readonly sampleRate: number; readonly audit: "sync" | "async" };
}

export const DEFAULT_ENDPOINT_DEFAULTS: EndpointDefaults = {
  inferenceLog: { sampleRate: 1, audit: "async" },
};

const ENDPOINT_FIELDS = [
  "name",
  "model",
  "champion",
  "challenger",
  "canary",
  "shadows",
  "entityKey",
  "featureService",
  "required",
  "deadlineMs",
  "fallback",
  "cache",
  "inferenceLog",
  "decision",
  "input",
  "record",
  "explain",
  "limits",
  "review",
] as const;
const REF_FIELDS = ["model", "version", "alias"] as const;
const POLICIES = ["reject", "accept"] as const;
const RECORD_MODES = ["all", "sampled"] as const;
/** Most reason codes a decision carries: enough for any adverse-action notice. */
export const MAX_TOP_K = 20;

/** `explain: {top_k}` of an endpoint or a request: how many reason codes each decision carries. */
export function explainOf(json: unknown, field: string): { topK: number } {
  const o = specObject(json, field, ["top_k"]);
  const topK = specRequired(specNumber(o, "top_k", field, { integer: true, min: 1, max: MAX_TOP_K }), `${field}.top_k`);
  return { topK };
}

/** A model reference naming exactly one of version or alias; `model` defaults to the endpoint's. */
function ref(json: unknown, model: string, field: string, extra: readonly string[] = []): ResolvedRef {
  const o = specObject(json, field, [...REF_FIELDS, ...extra]);
  const version = specString(o, "version", field);
  const alias = specString(o, "alias", field);
  const m = specString(o, "model", field) ?? model;
  if (version !== undefined && alias === undefined) return { model: m, version };
  if (alias !== undefined && version === undefined) return { model: m, alias };
  throw specError(field, json, "must name exactly one of version or alias");
}

function fallbackOf(json: unknown, field: string): { previousVersion: boolean; score?: number } {
  const o = specObject(json, field, ["previousVersion", "score"]);
  if (o.previousVersion !== undefined && o.previousVersion !== true)
    throw specError(`${field}.previousVersion`, o.previousVersion, "must be true");
  const score = specNumber(o, "score", field, {});
  if (o.previousVersion === undefined && score === undefined)
    throw specError(field, json, "must set previousVersion: true, or a score");
  return { previousVersion: o.previousVersion === true, ...(score !== undefined ? { score } : {}) };
}

function gateOf(json: unknown, field: string): CanaryGateSpec {
  const o = specObject(json, field, ["gate", "minAucGain", "alpha"]);
  if (o.gate !== "challenger_beats_champion")
    throw specError(`${field}.gate`, o.gate ?? null, "must be challenger_beats_champion");
  return {
    gate: "challenger_beats_champion",
    minAucGain: specNumber(o, "minAucGain", field, { min: 0, max: 0.5 }) ?? 0,
    alpha: specNumber(o, "alpha", field, { positive: true, max: 0.5 }) ?? 0.05,
  };
}

function canaryOf(
  json: unknown,
  model: string,
  field: string,
): ResolvedRef & { schedule: CanarySchedule; gate?: CanaryGateSpec } {
  const extra = ["steps", "stepSeconds", "maxErrorRate", "minRequests", "gate"];
  const o = specObject(json, field, [...REF_FIELDS, ...extra]);
  let steps: readonly number[] = DEFAULT_CANARY_STEPS;
  if (o.steps !== undefined) {
    const list = specArray(o.steps, `${field}.steps`);
    if (list.length === 0) throw specError(`${field}.steps`, list, "must list at least one step");
    steps = list.map((v, i) => specNumberValue(v, `${field}.steps[${i}]`, { positive: true, max: 100 }));
  }
  return {
    ...ref(json, model, field, extra),
    schedule: {
      steps,
      stepMs: (specNumber(o, "stepSeconds", field, { positive: true }) ?? 600) * 1000,
      maxErrorRate: specNumber(o, "maxErrorRate", field, { min: 0, max: 1 }) ?? 0.05,
      minRequests: specNumber(o, "minRequests", field, { integer: true, min: 0 }) ?? 20,
    },
    ...(o.gate !== undefined ? { gate: gateOf(o.gate, `${field}.gate`) } : {}),
  };
}

function optionalThreshold(threshold: number | undefined): { threshold?: number } {
  return threshold === undefined ? {} : { threshold };
}

/** Validate one endpoint document; errors name the field (`endpoint.challenger.percent`), value and rule. */
export function parseEndpointConfig(
  input: unknown,
  defaults: EndpointDefaults = DEFAULT_ENDPOINT_DEFAULTS,
  field = "endpoint",
): EndpointConfig {
  const c = specObject(input, field, ENDPOINT_FIELDS);
  const name = specRequired(specString(c, "name", field), `${field}.name`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name))
    throw specError(`${field}.name`, name, "must be 1-128 letters, digits, '.', '_' or '-'");
  const model = specRequired(specString(c, "model", field), `${field}.model`);
  const challenger =
    c.challenger === undefined
      ? undefined
      : specObject(c.challenger, `${field}.challenger`, [...REF_FIELDS, "percent"]);
  const percent =
    challenger &&
    specRequired(
      specNumber(challenger, "percent", `${field}.challenger`, { min: 0, max: 100 }),
      `${field}.challenger.percent`,
    );
  const cache = c.cache === undefined ? undefined : specObject(c.cache, `${field}.cache`, ["ttlSeconds", "maxEntries"]);
  const log = specObject(c.inferenceLog ?? {}, `${field}.inferenceLog`, ["sampleRate", "audit"]);
  const decision = specObject(c.decision ?? {}, `${field}.decision`, ["threshold", "positive", "negative"]);
  const policy = specObject(c.input ?? {}, `${field}.input`, ["ranges", "categories"]);
  const entityKey = specString(c, "entityKey", field);
  const featureService = specString(c, "featureService", field);
  const sampleRate =
    specNumber(log, "sampleRate", `${field}.inferenceLog`, { min: 0, max: 1 }) ?? defaults.inferenceLog.sampleRate;
  const record = specOneOf(c, "record", field, RECORD_MODES) ?? (sampleRate < 1 ? "sampled" : "all");
  if (record === "all" && sampleRate < 1)
    throw specError(`${field}.inferenceLog.sampleRate`, sampleRate, 'must be 1 when record is "all"');
  const explain = c.explain === undefined ? undefined : explainOf(c.explain, `${field}.explain`);
  const deadlineMs = specNumber(c, "deadlineMs", field, { positive: true });
  if (c.required !== undefined && typeof c.required !== "boolean")
    throw specError(`${field}.required`, c.required, "must be true or false");
  return {
    name,
    model,
    champion: c.champion !== undefined ? ref(c.champion, model, `${field}.champion`) : { model, alias: "champion" },
    ...(challenger && percent !== undefined
      ? { challenger: { ...ref(challenger, model, `${field}.challenger`, ["percent"]), percent } }
      : {}),
    ...(c.canary !== undefined ? { canary: canaryOf(c.canary, model, `${field}.canary`) } : {}),
    shadows: specArray(c.shadows ?? [], `${field}.shadows`).map((r, i) => ref(r, model, `${field}.shadows[${i}]`)),
    ...(entityKey !== undefined ? { entityKey } : {}),
    ...(featureService !== undefined ? { featureService } : {}),
    required: c.required === true,
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    ...(c.fallback !== undefined ? { fallback: fallbackOf(c.fallback, `${field}.fallback`) } : {}),
    ...(cache
      ? {
          cache: {
            ttlMs: (specNumber(cache, "ttlSeconds", `${field}.cache`, { positive: true }) ?? 60) * 1000,
            maxEntries: specNumber(cache, "maxEntries", `${field}.cache`, { integer: true, min: 1 }) ?? 10_000,
          },
        }
      : {}),
    inferenceLog: {
      sampleRate,
      audit:
        specOneOf(log, "audit", `${field}.inferenceLog`, ["sync", "async"] as const) ?? defaults.inferenceLog.audit,
    },
    decision: {
      ...optionalThreshold(specNumber(decision, "threshold", `${field}.decision`, {})),
      positive: specString(decision, "positive", `${field}.decision`) ?? DEFAULT_DECISION.positive,
      negative: specString(decision, "negative", `${field}.decision`) ?? DEFAULT_DECISION.negative,
    },
    input: {
      ranges: specOneOf(policy, "ranges", `${field}.input`, POLICIES) ?? DEFAULT_INPUT_POLICY.ranges,
      categories: specOneOf(policy, "categories", `${field}.input`, POLICIES) ?? DEFAULT_INPUT_POLICY.categories,
    },
    record,
    ...(explain !== undefined ? { explain } : {}),
    ...(c.limits !== undefined ? { limits: parseLimits(c.limits, `${field}.limits`) } : {}),
    ...(c.review !== undefined ? { review: parseReviewPolicy(c.review, `${field}.review`) } : {}),
    configured: true,
  };
}

export interface ServingFile {
  readonly endpoints: EndpointConfig[];
  readonly batching?: { maxBatchSize?: number; maxLatencyMs?: number };
  readonly modelBatching: Record<string, { maxBatchSize?: number; maxLatencyMs?: number }>;
}

function batching(input: unknown, field: string): { maxBatchSize?: number; maxLatencyMs?: number } {
  const o = specObject(input, field, ["maxBatchSize", "maxLatencyMs"]);
  const maxBatchSize = specNumber(o, "maxBatchSize", field, { integer: true, min: 1 });
  const maxLatencyMs = specNumber(o, "maxLatencyMs", field, { min: 0 });
  return {
    ...(maxBatchSize !== undefined ? { maxBatchSize } : {}),
    ...(maxLatencyMs !== undefined ? { maxLatencyMs } : {}),
  };
}

/**
 * The serving file: `{"endpoints": [...], "batching": {...}, "models": {"<name>": {"batching": {...}}}}`
 * (a bare array is read as the endpoints).
 */
export function parseServingFile(input: unknown, defaults: EndpointDefaults = DEFAULT_ENDPOINT_DEFAULTS): ServingFile {
  const doc = (Array.isArray(input) ? { endpoints: input } : input) as Record<string, unknown> | null;
  if (doc === null || typeof doc !== "object") throw specError("serving file", input, "must be a JSON object");
  const list = doc.endpoints ?? [];
  if (!Array.isArray(list)) throw specError("endpoints", list, "must be an array of endpoint objects");
  const endpoints = list.map((e, i) => parseEndpointConfig(e, defaults, `endpoints[${i}]`));
  const seen = new Set<string>();
  for (const [i, e] of endpoints.entries()) {
    if (seen.has(e.name)) throw specError(`endpoints[${i}].name`, e.name, "must be unique");
    seen.add(e.name);
  }
  const modelBatching: Record<string, { maxBatchSize?: number; maxLatencyMs?: number }> = {};
  const models = doc.models ?? {};
  if (models === null || typeof models !== "object" || Array.isArray(models)) {
    throw specError("models", models, "must be an object of model name to settings");
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

/**
 * Whether the endpoint's champion route answers with something other than its model's `champion`
 * alias (a pinned version, another alias or another model's version): choosing what answers as
 * champion is a promotion, so the server asks the approver role for it.
 */
export function championOverridden(config: EndpointConfig): boolean {
  const c = config.champion;
  return c.model !== config.model || c.version !== undefined || c.alias !== "champion";
}

/** The endpoint keel creates for a model with a `champion` alias and no configured endpoint. */
export function defaultEndpoint(model: string, defaults: EndpointDefaults = DEFAULT_ENDPOINT_DEFAULTS): EndpointConfig {
  return {
    name: model,
    model,
    champion: { model, alias: "champion" },
    shadows: [],
    inferenceLog: defaults.inferenceLog,
    decision: DEFAULT_DECISION,
    input: DEFAULT_INPUT_POLICY,
    record: defaults.inferenceLog.sampleRate < 1 ? "sampled" : "all",
    required: false,
    configured: false,
  };
}
