/**
 * A guardrail set: the configured checks compiled once, run on an LLM input or output. The result
 * says which checks triggered, where, the text with the spans of `redact` checks replaced by
 * placeholders, and the decision: `block` if any triggered check blocks, else `redact` if any
 * redacts, else `flag` if any flags, else `allow`.
 */
import { KeelError } from "../../errors.js";
import { blockedTermsMatcher } from "./blocked-terms.js";
import {
  guardrailConfigError,
  type GuardrailAction,
  type GuardrailCheckConfig,
  type GuardrailCheckKind,
  type GuardrailSetConfig,
} from "./config.js";
import { promptInjectionMatcher } from "./injection.js";
import { compileOutputSchema } from "./json-schema.js";
import { detectPii, type Span } from "./pii.js";
import { redact } from "./redact.js";

/**
 * A classifier endpoint (toxicity, off-topic …): the score of `text`, higher meaning more of what
 * the check looks for. A rejection propagates out of `check`, so the caller chooses whether a
 * classifier outage fails open or closed.
 */
export type TextClassifier = (text: string) => Promise<number>;

export type GuardrailDecision = "allow" | GuardrailAction;

export interface TriggeredCheck {
  readonly name: string;
  readonly kind: GuardrailCheckKind;
  readonly action: GuardrailAction;
  /** Where in the text; empty for json_schema and classifier checks. */
  readonly spans: readonly Span[];
  /** Why: the PII types, pattern ids or terms found, the schema violations, or the score against the threshold. */
  readonly reasons: readonly string[];
  /** The classifier's score, for classifier checks. */
  readonly score?: number;
}

export interface GuardrailResult {
  readonly decision: GuardrailDecision;
  readonly triggered: readonly TriggeredCheck[];
  /** The spans of every triggered check, sorted by start. */
  readonly spans: readonly Span[];
  /** The text with the spans of triggered `redact` checks replaced by typed placeholders (`[EMAIL]` …). */
  readonly redactedText: string;
}

export interface GuardrailSet {
  readonly config: GuardrailSetConfig;
  check(text: string): Promise<GuardrailResult>;
}

export interface GuardrailHooks {
  /** Classifier endpoints by the name `classifier` checks give. */
  readonly classifiers?: Readonly<Record<string, TextClassifier>>;
}

type Finding = Pick<TriggeredCheck, "spans" | "reasons" | "score"> | undefined;
type CompiledCheck = (text: string) => Finding | Promise<Finding>;

const DECISION_ORDER: readonly GuardrailDecision[] = ["allow", "flag", "redact", "block"];

function distinct(xs: Iterable<string>): string[] {
  return [...new Set(xs)];
}

function spanFinding(spans: readonly (Span & { readonly pattern?: string; readonly term?: string })[]): Finding {
  if (spans.length === 0) return undefined;
  return { spans, reasons: distinct(spans.map((s) => s.pattern ?? s.term ?? s.type)) };
}

function compileCheck(c: GuardrailCheckConfig, field: string, hooks: GuardrailHooks): CompiledCheck {
  switch (c.kind) {
    case "pii":
      return (text) => spanFinding(detectPii(text, c.types));
    case "prompt_injection": {
      const match = promptInjectionMatcher(c.patterns);
      return (text) => spanFinding(match(text));
    }
    case "blocked_terms": {
      const match = blockedTermsMatcher(c.terms);
      return (text) => spanFinding(match(text));
    }
    case "json_schema": {
      const validate = compileOutputSchema(c.schema);
      return (text) => {
        const violations = validate(text);
        return violations.length === 0 ? undefined : { spans: [], reasons: violations };
      };
    }
    case "classifier": {
      const classify = hooks.classifiers?.[c.classifier];
      if (classify === undefined) {
        const given = Object.keys(hooks.classifiers ?? {});
        throw guardrailConfigError(
          `${field}.classifier`,
          c.classifier,
          `no classifier hook of that name; given: ${given.length === 0 ? "none" : given.join(", ")}`,
        );
      }
      return async (text) => {
        const score = await classify(text);
        if (!Number.isFinite(score)) {
          throw new KeelError(
            "INTERNAL_ERROR",
            `classifier ${c.classifier} returned ${score}: must be a finite number`,
            {
              details: { classifier: c.classifier, score },
            },
          );
        }
        return score >= c.threshold ? { spans: [], reasons: [`score ${score} ≥ ${c.threshold}`], score } : undefined;
      };
    }
  }
}

/**
 * Compiles a parsed set (see `parseGuardrailSet`): patterns, term lists and schemas once, and
 * each classifier check bound to its hook. `path` names the set in errors, as in the parser.
 */
export function createGuardrailSet(
  config: GuardrailSetConfig,
  hooks: GuardrailHooks = {},
  path = "guardrails",
): GuardrailSet {
  const compiled = config.checks.map((c, i) => ({ config: c, run: compileCheck(c, `${path}.checks[${i}]`, hooks) }));
  return {
    config,
    async check(text) {
      // Classifier calls run concurrently; the other checks finish synchronously.
      const findings = await Promise.all(compiled.map(async (c) => c.run(text)));
      const triggered: TriggeredCheck[] = [];
      findings.forEach((f, i) => {
        const { name, kind, action } = (compiled[i] as (typeof compiled)[number]).config;
        if (f !== undefined) triggered.push({ name, kind, action, ...f });
      });
      return guardrailResult(text, triggered);
    },
  };
}

/** The decision and redacted text for the checks that triggered on `text`. */
function guardrailResult(text: string, triggered: readonly TriggeredCheck[]): GuardrailResult {
  let decision: GuardrailDecision = "allow";
  for (const t of triggered) {
    if (DECISION_ORDER.indexOf(t.action) > DECISION_ORDER.indexOf(decision)) decision = t.action;
  }
  const spans = triggered.flatMap((t) => t.spans).sort((a, b) => a.start - b.start);
  const redacted = triggered.filter((t) => t.action === "redact").flatMap((t) => t.spans);
  return { decision, triggered, spans, redactedText: redacted.length === 0 ? text : redact(text, redacted) };
}
