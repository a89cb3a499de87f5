/**
 * Evaluators score one model output of one example: exact match, contains, regex, JSON-schema
 * validity (the guardrails' check), numeric closeness (absolute or relative tolerance, as Python's
 * `math.isclose`), and an LLM judge (see judge.ts). Each answers a score and whether it passed,
 * or an error (an example without the reference it needs, a judge whose answer is malformed):
 * errors are counted apart, never scored as 0.
 */
import { specError } from "../../spec-fields.js";
import { compileOutputSchema } from "../guardrails/index.js";
import type { EvalExample } from "./dataset.js";
import { judge, JudgeError, type ChatCall, type JudgeRubric } from "./judge.js";

export const EVALUATOR_KINDS = ["exact_match", "contains", "regex", "json_schema", "numeric", "llm_judge"] as const;
export type EvaluatorKind = (typeof EVALUATOR_KINDS)[number];

/** An evaluator as configured (the JSON of the API and of `--evaluators-file`). */
export interface EvaluatorSpec {
  readonly kind: EvaluatorKind;
  /** The metric prefix (`<name>/mean`, `<name>/pass_rate`); default the kind. */
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export type EvaluatorResult =
  | {
      readonly score: number;
      readonly passed: boolean;
      readonly reason?: string;
      readonly judgeUsage?: JudgeUsage;
      /** The judge call's trace. */
      readonly traceId?: string;
    }
  | { readonly error: string };

export interface JudgeUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface Evaluator {
  readonly name: string;
  readonly kind: EvaluatorKind;
  /** For an LLM judge: its rubric prompt version (`name@version`) and score range. */
  readonly judge?: {
    readonly prompt: string;
    readonly model?: string | undefined;
    readonly minScore: number;
    readonly maxScore: number;
  };
  evaluate(output: string, example: EvalExample): Promise<EvaluatorResult>;
}

const OPTIONS: Readonly<Record<EvaluatorKind, readonly string[]>> = {
  exact_match: ["ignore_case"],
  contains: ["value", "ignore_case"],
  regex: ["pattern", "flags"],
  json_schema: ["schema"],
  numeric: ["abs_tolerance", "rel_tolerance"],
  llm_judge: ["prompt", "route", "min_score", "max_score", "threshold"],
};

/** Reads an evaluator spec: `{ kind, name?, …options }`, or just the kind's name; `at` names it in errors. */
export function checkEvaluatorSpec(json: unknown, at: string): EvaluatorSpec {
  const o = typeof json === "string" ? { kind: json } : json;
  if (typeof o !== "object" || o === null || Array.isArray(o))
    throw specError(at, json, "must be a kind or { kind, … }");
  const { kind, name, ...options } = o as Record<string, unknown>;
  if (typeof kind !== "string" || !(EVALUATOR_KINDS as readonly string[]).includes(kind)) {
    throw specError(`${at}.kind`, kind, `must be one of ${EVALUATOR_KINDS.join(", ")}`);
  }
  if (name !== undefined && (typeof name !== "string" || !/^[a-zA-Z0-9_.-]+$/.test(name))) {
    throw specError(`${at}.name`, name, "must be letters, digits, '_', '.' or '-'");
  }
  const allowed = OPTIONS[kind as EvaluatorKind];
  const extra = Object.keys(options).find((k) => !allowed.includes(k));
  if (extra !== undefined) {
    throw specError(
      `${at}.${extra}`,
      options[extra],
      `unknown option of ${kind}; allowed: ${allowed.join(", ") || "none"}`,
    );
  }
  return { kind: kind as EvaluatorKind, name: name ?? kind, options };
}

/** A list of specs with unique names. */
export function checkEvaluatorSpecs(json: unknown, field = "evaluators"): EvaluatorSpec[] {
  if (!Array.isArray(json) || json.length === 0) throw specError(field, json, "must be a non-empty list of evaluators");
  const specs = json.map((e: unknown, i) => checkEvaluatorSpec(e, `${field}[${i}]`));
  specs.forEach((s, i) => {
    if (specs.findIndex((t) => t.name === s.name) !== i) {
      throw specError(`${field}[${i}].name`, s.name, "must be unique (give each evaluator of the same kind a name)");
    }
  });
  return specs;
}

function bool(spec: EvaluatorSpec, key: string, at: string): boolean {
  const v = spec.options[key];
  if (v !== undefined && typeof v !== "boolean") throw specError(`${at}.${key}`, v, "must be true or false");
  return v === true;
}

function num(spec: EvaluatorSpec, key: string, at: string, fallback: number, min?: number): number {
  const v = spec.options[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) throw specError(`${at}.${key}`, v, "must be a finite number");
  if (min !== undefined && v < min) throw specError(`${at}.${key}`, v, `must be at least ${min}`);
  return v;
}

function str(spec: EvaluatorSpec, key: string, at: string, required: boolean): string | undefined {
  const v = spec.options[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== "string" || v === "") throw specError(`${at}.${key}`, v, "must be a non-empty string");
  return v;
}

/** The reference as text, or undefined when the example has none. */
function referenceText(example: EvalExample): string | undefined {
  const r = example.reference;
  if (r === undefined) return undefined;
  return typeof r === "string" ? r : JSON.stringify(r);
}

const noReference = (name: string): EvaluatorResult => ({
  error: `${name} needs the example's reference; it has none`,
});
const verdict = (passed: boolean, reason?: string): EvaluatorResult => ({
  score: passed ? 1 : 0,
  passed,
  ...(reason === undefined ? {} : { reason }),
});

/** What an LLM judge evaluator needs from its surroundings: the rubric by `name@ref`, and a chat call on a route. */
export interface JudgeResolver {
  rubric(ref: string, minScore: number, maxScore: number): Promise<JudgeRubric>;
  call(route: string | undefined): ChatCall;
}

function textEvaluator(spec: EvaluatorSpec, at: string): Evaluator["evaluate"] {
  const ignoreCase = (spec.kind === "exact_match" || spec.kind === "contains") && bool(spec, "ignore_case", at);
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  switch (spec.kind) {
    case "exact_match":
      return (output, example) => {
        const ref = referenceText(example);
        if (ref === undefined) return Promise.resolve(noReference(spec.name));
        return Promise.resolve(verdict(fold(output.trim()) === fold(ref.trim())));
      };
    case "contains": {
      const value = str(spec, "value", at, false);
      return (output, example) => {
        const needle = value ?? referenceText(example);
        if (needle === undefined) return Promise.resolve(noReference(spec.name));
        return Promise.resolve(verdict(fold(output).includes(fold(needle))));
      };
    }
    case "regex": {
      const pattern = str(spec, "pattern", at, true) as string;
      const flags = str(spec, "flags", at, false) ?? "";
      let re: RegExp;
      try {
        re = new RegExp(pattern, flags.replace(/[gy]/g, ""));
      } catch (e) {
        throw specError(`${at}.pattern`, pattern, `must be a valid regular expression (${(e as Error).message})`);
      }
      return (output) => Promise.resolve(verdict(re.test(output)));
    }
    case "json_schema": {
      const schema = spec.options.schema;
      if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
        throw specError(`${at}.schema`, schema, "must be a JSON schema object");
      }
      let validate: ReturnType<typeof compileOutputSchema>;
      try {
        validate = compileOutputSchema(schema as Record<string, unknown>);
      } catch (e) {
        throw specError(`${at}.schema`, schema, `must be a valid JSON schema (${(e as Error).message})`);
      }
      return (output) => {
        const problems = validate(output);
        return Promise.resolve(verdict(problems.length === 0, problems.length === 0 ? undefined : problems.join("; ")));
      };
    }
    case "llm_judge":
      throw specError(`${at}.kind`, spec.kind, "an LLM judge is not a text evaluator");
    case "numeric": {
      const abs = num(spec, "abs_tolerance", at, 0, 0);
      const rel = num(spec, "rel_tolerance", at, 1e-9, 0);
      return (output, example) => {
        const ref = referenceText(example);
        if (ref === undefined) return Promise.resolve(noReference(spec.name));
        const expected = Number(ref.trim());
        if (ref.trim() === "" || !Number.isFinite(expected)) {
          return Promise.resolve({ error: `${spec.name} needs a numeric reference, got ${JSON.stringify(ref)}` });
        }
        const got = Number(output.trim());
        if (output.trim() === "" || !Number.isFinite(got)) {
          return Promise.resolve(verdict(false, `the output is not a number: ${JSON.stringify(output.slice(0, 80))}`));
        }
        const allowed = Math.max(rel * Math.max(Math.abs(got), Math.abs(expected)), abs);
        return Promise.resolve(verdict(Math.abs(got - expected) <= allowed, `|${got} - ${expected}| vs ${allowed}`));
      };
    }
  }
}

/** An evaluator ready to run; an LLM judge's rubric is looked up now, so a bad reference fails before any call. */
export async function createEvaluator(spec: EvaluatorSpec, at: string, judges?: JudgeResolver): Promise<Evaluator> {
  if (spec.kind !== "llm_judge") return { name: spec.name, kind: spec.kind, evaluate: textEvaluator(spec, at) };
  const ref = str(spec, "prompt", at, true) as string;
  const route = str(spec, "route", at, false);
  const minScore = num(spec, "min_score", at, 0);
  const maxScore = num(spec, "max_score", at, 1);
  if (!(minScore < maxScore)) throw specError(`${at}.max_score`, maxScore, `must be above min_score ${minScore}`);
  const threshold = num(spec, "threshold", at, (minScore + maxScore) / 2);
  if (threshold < minScore || threshold > maxScore) {
    throw specError(`${at}.threshold`, threshold, `must be within [${minScore}, ${maxScore}]`);
  }
  if (judges === undefined) throw specError(`${at}.kind`, "llm_judge", "needs a gateway to call the judge through");
  const rubric = await judges.rubric(ref, minScore, maxScore);
  const call = judges.call(route);
  return {
    name: spec.name,
    kind: spec.kind,
    judge: { prompt: `${rubric.prompt.name}@${rubric.prompt.version}`, model: rubric.prompt.model, minScore, maxScore },
    async evaluate(output, example) {
      try {
        const v = await judge(call, rubric, {
          input: example.inputs,
          output,
          ...(example.reference === undefined ? {} : { reference: example.reference }),
          ...(example.metadata?.context === undefined ? {} : { context: example.metadata.context }),
        });
        return {
          score: v.score,
          passed: v.score >= threshold,
          reason: v.reason,
          judgeUsage: { inputTokens: v.inputTokens ?? 0, outputTokens: v.outputTokens ?? 0 },
          ...(v.traceId === undefined ? {} : { traceId: v.traceId }),
        };
      } catch (e) {
        if (e instanceof JudgeError) return { error: e.message };
        throw e;
      }
    },
  };
}
