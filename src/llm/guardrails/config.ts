/**
 * A guardrail set as configured: plain JSON (or a parsed YAML document) naming each check, its
 * kind, its action and its options. `parseGuardrailSet` refuses anything it does not understand
 * with a message naming the field, the value and the rule (`field = value: rule`, the shape of
 * every keel spec error).
 */
import { InvalidParameterError } from "../../errors.js";
import { INJECTION_PATTERNS } from "./injection.js";
import { compileOutputSchema } from "./json-schema.js";
import { PII_TYPES, type PiiType } from "./pii.js";

/** What a triggered check asks for: refuse the text, replace its spans with placeholders, or pass it on and report it. */
export type GuardrailAction = "block" | "redact" | "flag";

export const GUARDRAIL_ACTIONS: readonly GuardrailAction[] = ["block", "redact", "flag"];

interface CheckBase {
  /** Unique within the set; defaults to the kind. */
  readonly name: string;
  readonly action: GuardrailAction;
}

export type GuardrailCheckConfig =
  | (CheckBase & { readonly kind: "pii"; readonly types: readonly PiiType[] })
  | (CheckBase & { readonly kind: "prompt_injection"; readonly patterns: readonly string[] })
  | (CheckBase & { readonly kind: "blocked_terms"; readonly terms: readonly string[] })
  | (CheckBase & {
      readonly kind: "json_schema";
      readonly action: "block" | "flag";
      readonly schema: Readonly<Record<string, unknown>>;
    })
  | (CheckBase & {
      readonly kind: "classifier";
      readonly action: "block" | "flag";
      /** The name of the hook given to `createGuardrailSet`. */
      readonly classifier: string;
      /** The check triggers when the score is at least this. */
      readonly threshold: number;
    });

export type GuardrailCheckKind = GuardrailCheckConfig["kind"];

export interface GuardrailSetConfig {
  readonly name?: string;
  readonly checks: readonly GuardrailCheckConfig[];
}

/** The fields each kind accepts besides `kind`, `name` and `action`. */
const FIELDS: Readonly<Record<GuardrailCheckKind, readonly string[]>> = {
  pii: ["types"],
  prompt_injection: ["patterns"],
  blocked_terms: ["terms"],
  json_schema: ["schema"],
  classifier: ["classifier", "threshold"],
};

/** The error of every refused field: `field = value: rule`. */
export function guardrailConfigError(field: string, value: unknown, rule: string): InvalidParameterError {
  return new InvalidParameterError(
    `${field} = ${typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value))}: ${rule}`,
    { details: { field, value, rule } },
  );
}

type Fields = Readonly<Record<string, unknown>>;

function isFields(json: unknown): json is Fields {
  return typeof json === "object" && json !== null && !Array.isArray(json);
}

/** The object at `path`, refusing keys outside `allowed` (a misspelt key would otherwise be ignored). */
function object(json: unknown, path: string, allowed?: readonly string[]): Fields {
  if (!isFields(json)) throw guardrailConfigError(path, json, "must be an object");
  if (allowed === undefined) return json;
  for (const [k, v] of Object.entries(json)) {
    if (!allowed.includes(k))
      throw guardrailConfigError(`${path}.${k}`, v, `unknown field; allowed: ${allowed.join(", ")}`);
  }
  return json;
}

function string(obj: Fields, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.trim() === "")
    throw guardrailConfigError(`${path}.${key}`, v, "must be a non-empty string");
  return v;
}

/** A non-empty list of strings, each one of `allowed` when given. */
function strings(obj: Fields, key: string, path: string, allowed?: readonly string[]): string[] | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  const field = `${path}.${key}`;
  if (!Array.isArray(v) || v.length === 0) throw guardrailConfigError(field, v, "must be a non-empty array");
  return v.map((item: unknown, i) => {
    if (typeof item !== "string" || item.trim() === "")
      throw guardrailConfigError(`${field}[${i}]`, item, "must be a non-empty string");
    if (allowed !== undefined && !allowed.includes(item))
      throw guardrailConfigError(`${field}[${i}]`, item, `must be one of ${allowed.join(", ")}`);
    return item;
  });
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw guardrailConfigError(field, undefined, "is required");
  return value;
}

function isKind(v: unknown): v is GuardrailCheckKind {
  return typeof v === "string" && Object.hasOwn(FIELDS, v);
}

/** Parses a guardrail set, refusing unknown kinds, fields, PII types and pattern ids, and invalid schemas. */
export function parseGuardrailSet(json: unknown, path = "guardrails"): GuardrailSetConfig {
  const o = object(json, path, ["name", "checks"]);
  const name = string(o, "name", path);
  const list = required(o.checks, `${path}.checks`);
  if (!Array.isArray(list) || list.length === 0)
    throw guardrailConfigError(`${path}.checks`, list, "must be a non-empty array");
  const seen = new Set<string>();
  const checks = list.map((c: unknown, i) => {
    const check = parseCheck(c, `${path}.checks[${i}]`);
    if (seen.has(check.name))
      throw guardrailConfigError(`${path}.checks[${i}].name`, check.name, "must be unique in the set");
    seen.add(check.name);
    return check;
  });
  return { ...(name === undefined ? {} : { name }), checks };
}

function parseCheck(json: unknown, path: string): GuardrailCheckConfig {
  const kind = required(object(json, path).kind, `${path}.kind`);
  if (!isKind(kind))
    throw guardrailConfigError(`${path}.kind`, kind, `must be one of ${Object.keys(FIELDS).join(", ")}`);
  const o = object(json, path, ["kind", "name", "action", ...FIELDS[kind]]);
  const name = string(o, "name", path) ?? kind;
  const spanless = kind === "json_schema" || kind === "classifier";
  const actions = spanless ? GUARDRAIL_ACTIONS.filter((a) => a !== "redact") : GUARDRAIL_ACTIONS;
  const action = required(o.action, `${path}.action`);
  if (typeof action !== "string" || !(actions as readonly string[]).includes(action)) {
    const why = spanless && action === "redact" ? ` (a ${kind} check finds no spans to redact)` : "";
    throw guardrailConfigError(`${path}.action`, action, `must be one of ${actions.join(", ")}${why}`);
  }
  switch (kind) {
    case "pii":
      return {
        kind,
        name,
        action: action as GuardrailAction,
        types: (strings(o, "types", path, PII_TYPES) ?? PII_TYPES) as PiiType[],
      };
    case "prompt_injection": {
      const ids = INJECTION_PATTERNS.map((p) => p.id);
      return { kind, name, action: action as GuardrailAction, patterns: strings(o, "patterns", path, ids) ?? ids };
    }
    case "blocked_terms":
      return {
        kind,
        name,
        action: action as GuardrailAction,
        terms: required(strings(o, "terms", path), `${path}.terms`),
      };
    case "json_schema":
      return { kind, name, action: action as "block" | "flag", schema: parseSchema(o.schema, `${path}.schema`) };
    case "classifier":
      return {
        kind,
        name,
        action: action as "block" | "flag",
        classifier: required(string(o, "classifier", path), `${path}.classifier`),
        threshold: parseThreshold(o.threshold, `${path}.threshold`),
      };
  }
}

function parseSchema(json: unknown, field: string): Readonly<Record<string, unknown>> {
  const schema = object(required(json, field), field);
  try {
    compileOutputSchema(schema);
  } catch (e) {
    throw guardrailConfigError(field, schema, `must be a valid JSON schema (${(e as Error).message})`);
  }
  return schema;
}

function parseThreshold(v: unknown, field: string): number {
  if (typeof required(v, field) !== "number" || !Number.isFinite(v))
    throw guardrailConfigError(field, v, "must be a finite number");
  return v as number;
}
