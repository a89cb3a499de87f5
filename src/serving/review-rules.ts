import type { Signature } from "../data/index.js";
import { specArray, specError, specNumber, specObject, specString } from "../spec-fields.js";
import type { InputTable, RawValue } from "./input-table.js";
import { inPercent } from "./router.js";

/**
 * When a served decision goes to a person: a score band, a random share (deterministic per request
 * id, so a replay or a test picks the same requests), and business rules on the inputs. A decision
 * matching any of them is queued for review.
 */
export interface ReviewPolicy {
  /** Scores in [min, max] are reviewed. */
  readonly scoreBand?: { readonly min: number; readonly max: number };
  /** Share of requests (0..1) reviewed at random, by a hash of the request id. */
  readonly sampleRate: number;
  readonly rules: readonly ReviewRule[];
  /** What the caller is answered while the review is pending; absent: the model's decision. */
  readonly interimDecision?: string;
}

/** A row of an answer that went to the review queue. */
export interface RowReview {
  /** The review rules it matched. */
  readonly reasons: readonly string[];
  /** What the caller is answered until a reviewer decides. */
  readonly interimDecision: string;
}

/** A business rule: its text as written and the predicate compiled from it. */
export interface ReviewRule {
  readonly text: string;
  readonly test: (table: InputTable, row: number) => boolean;
  /** The input columns it reads, with the kind of literal each is compared with. */
  readonly columns: readonly { readonly name: string; readonly literal: LiteralKind }[];
}

type Literal = number | string | boolean | null;
type LiteralKind = "number" | "string" | "boolean" | "null";
type Operator = "<=" | ">=" | "==" | "!=" | "<" | ">";

type Token =
  | { readonly kind: "ident"; readonly text: string }
  | { readonly kind: "op"; readonly text: Operator }
  | { readonly kind: "literal"; readonly value: Literal }
  | { readonly kind: "and" | "or" | "(" | ")" };

const GRAMMAR =
  "must be `column op literal` (op: < <= > >= == !=; literal: number, 'text', true, false, null), joined by and / or, with parentheses";

function tokenize(text: string, field: string): Token[] {
  const out: Token[] = [];
  const re =
    /\s*(?:(\()|(\))|(<=|>=|==|!=|<|>)|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_.]*))\s*/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) throw specError(field, text, `${GRAMMAR}; cannot read it at character ${at + 1}`);
    at = re.lastIndex;
    if (m[1] !== undefined) out.push({ kind: "(" });
    else if (m[2] !== undefined) out.push({ kind: ")" });
    else if (m[3] !== undefined) out.push({ kind: "op", text: m[3] as Operator });
    else if (m[4] !== undefined) out.push({ kind: "literal", value: Number(m[4]) });
    else if (m[5] !== undefined || m[6] !== undefined)
      out.push({ kind: "literal", value: (m[5] ?? m[6] ?? "").replace(/\\(.)/g, "$1") });
    else {
      const word = m[7] as string;
      const lower = word.toLowerCase();
      if (lower === "and" || lower === "or") out.push({ kind: lower });
      else if (lower === "true" || lower === "false") out.push({ kind: "literal", value: lower === "true" });
      else if (lower === "null") out.push({ kind: "literal", value: null });
      else out.push({ kind: "ident", text: word });
    }
  }
  return out;
}

type Predicate = (table: InputTable, row: number) => boolean;

/** `expr := and ('or' and)*; and := atom ('and' atom)*; atom := '(' expr ')' | column op literal`. */
function parseRule(text: string, field: string): ReviewRule {
  const tokens = tokenize(text, field);
  const columns: { name: string; literal: LiteralKind }[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw specError(field, text, `${GRAMMAR}; ${what}`);
  };
  const expr = (): Predicate => {
    const parts = [conj()];
    while (tokens[i]?.kind === "or") {
      i++;
      parts.push(conj());
    }
    return parts.length === 1 ? (parts[0] as Predicate) : (t, r) => parts.some((p) => p(t, r));
  };
  const conj = (): Predicate => {
    const parts = [atom()];
    while (tokens[i]?.kind === "and") {
      i++;
      parts.push(atom());
    }
    return parts.length === 1 ? (parts[0] as Predicate) : (t, r) => parts.every((p) => p(t, r));
  };
  const atom = (): Predicate => {
    const t = tokens[i++];
    if (t?.kind === "(") {
      const inner = expr();
      if (tokens[i++]?.kind !== ")") fail("a parenthesis is not closed");
      return inner;
    }
    if (t?.kind !== "ident") return fail(`expected a column name at token ${i}`);
    const op = tokens[i++];
    if (op?.kind !== "op") return fail(`expected a comparison after ${t.text}`);
    const lit = tokens[i++];
    if (lit?.kind !== "literal") return fail(`expected a literal after ${t.text} ${op.text}`);
    const kind = literalKind(lit.value);
    if (kind !== "number" && op.text !== "==" && op.text !== "!=")
      fail(`a ${kind} literal can only be compared with == or !=`);
    columns.push({ name: t.text, literal: kind });
    return comparison(t.text, op.text, lit.value);
  };
  const test = expr();
  if (i !== tokens.length) fail(`unexpected text after token ${i}`);
  return { text, test, columns };
}

function literalKind(v: Literal): LiteralKind {
  return v === null ? "null" : typeof v === "number" ? "number" : typeof v === "string" ? "string" : "boolean";
}

function compare(a: number | string, op: Operator, b: number | string): boolean {
  switch (op) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
    case "==":
      return a === b;
    case "!=":
      return a !== b;
  }
}

/**
 * One comparison on a row's raw input. A missing or null value matches only `== null`; a number
 * literal compares numbers (text from CSV is read as a number); other mismatched types never match.
 */
function comparison(name: string, op: Operator, lit: Literal): Predicate {
  return (table, row) => {
    const raw: RawValue = table.columns.get(name)?.[row];
    const v = raw === undefined ? null : raw;
    if (lit === null) return op === "==" ? v === null : v !== null;
    if (v === null) return false;
    if (typeof lit === "number") {
      const x = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
      return Number.isFinite(x) && compare(x, op, lit);
    }
    if (typeof lit === "boolean") {
      const b = typeof v === "boolean" ? v : v === "true" ? true : v === "false" ? false : undefined;
      return b !== undefined && (op === "==" ? b === lit : b !== lit);
    }
    return typeof v === "string" && compare(v, op, lit);
  };
}

/**
 * The endpoint's `review` object: `{scoreBand: {min, max}, sampleRate, rules: ["loan_amount > 50000"],
 * interimDecision}`; errors name the field, the value and the rule.
 */
export function parseReviewPolicy(json: unknown, field: string): ReviewPolicy {
  const o = specObject(json, field, ["scoreBand", "sampleRate", "rules", "interimDecision"]);
  let scoreBand: ReviewPolicy["scoreBand"];
  if (o.scoreBand !== undefined) {
    const band = specObject(o.scoreBand, `${field}.scoreBand`, ["min", "max"]);
    const min = specNumber(band, "min", `${field}.scoreBand`, {});
    const max = specNumber(band, "max", `${field}.scoreBand`, {});
    if (min === undefined || max === undefined || min > max)
      throw specError(`${field}.scoreBand`, o.scoreBand, "must set min and max with min <= max");
    scoreBand = { min, max };
  }
  const sampleRate = specNumber(o, "sampleRate", field, { min: 0, max: 1 }) ?? 0;
  const rules = specArray(o.rules ?? [], `${field}.rules`).map((r, i) => {
    if (typeof r !== "string" || r.trim() === "") throw specError(`${field}.rules[${i}]`, r, "must be a rule text");
    return parseRule(r, `${field}.rules[${i}]`);
  });
  const interimDecision = specString(o, "interimDecision", field);
  if (scoreBand === undefined && sampleRate === 0 && rules.length === 0)
    throw specError(field, json, "must set at least one of scoreBand, sampleRate (> 0) or rules");
  return { ...(scoreBand ? { scoreBand } : {}), sampleRate, rules, ...(interimDecision ? { interimDecision } : {}) };
}

/**
 * Checks a policy's rules against the model's input contract: each column a model input, each
 * literal of the column's type (null always allowed).
 */
export function checkReviewRules(policy: ReviewPolicy, signature: Signature, field: string): void {
  const types = new Map(signature.inputs.map((c) => [c.name, c.type]));
  policy.rules.forEach((rule, i) => {
    for (const c of rule.columns) {
      const type = types.get(c.name);
      if (type === undefined)
        throw specError(`${field}.rules[${i}]`, rule.text, `column ${c.name} is not an input of the model's signature`);
      const want = type === "string" ? "string" : type === "boolean" ? "boolean" : "number";
      if (c.literal !== "null" && c.literal !== want)
        throw specError(`${field}.rules[${i}]`, rule.text, `column ${c.name} is ${type}: compare it with a ${want}`);
    }
  });
}

/**
 * Why one row's decision goes to review (empty: it does not): `score_band`, `sample`, and
 * `rule: <text>` for each business rule it matches. `rowRequestId` is the row's logged request id.
 */
export function reviewReasons(
  policy: ReviewPolicy,
  rowRequestId: string,
  score: number,
  table: InputTable,
  row: number,
): string[] {
  const out: string[] = [];
  const band = policy.scoreBand;
  if (band !== undefined && score >= band.min && score <= band.max) out.push("score_band");
  // Salted, so the review sample is independent of the canary, challenger and log-sampling buckets.
  if (policy.sampleRate > 0 && inPercent(`review\u0000${rowRequestId}`, policy.sampleRate * 100)) out.push("sample");
  for (const rule of policy.rules) if (rule.test(table, row)) out.push(`rule: ${rule.text}`);
  return out;
}
