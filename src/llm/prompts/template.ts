/**
 * Prompt templates: a text or a list of chat messages with `{{variable}}` placeholders (MLflow 3's
 * syntax: a name, optionally dotted, with optional spaces inside the braces). Rendering checks
 * the variables both ways, so a renamed placeholder or a stray input fails loudly instead of
 * sending a half-filled prompt to a model.
 */
import { InvalidParameterError } from "../../errors.js";
import { specError } from "../../spec-fields.js";

export const CHAT_ROLES = ["system", "user", "assistant", "developer", "tool"] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
}

/** A text template, or chat messages whose contents are templates. */
export type PromptTemplate = string | readonly ChatMessage[];

const VARIABLE = /\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)\s*\}\}/g;

function texts(template: PromptTemplate): readonly string[] {
  return typeof template === "string" ? [template] : template.map((m) => m.content);
}

/** The variables a template uses, in order of first use. */
export function templateVariables(template: PromptTemplate): string[] {
  const seen = new Set<string>();
  for (const text of texts(template)) for (const m of text.matchAll(VARIABLE)) seen.add(m[1] as string);
  return [...seen];
}

/** Refuses anything but a non-empty string or a non-empty list of `{ role, content }` messages. */
export function checkTemplate(json: unknown, field = "template"): PromptTemplate {
  if (typeof json === "string") {
    if (json.trim() === "") throw specError(field, json, "must be a non-empty text or a list of chat messages");
    return json;
  }
  if (!Array.isArray(json) || json.length === 0) {
    throw specError(field, json, "must be a non-empty text or a non-empty list of chat messages");
  }
  return json.map((m: unknown, i): ChatMessage => {
    const at = `${field}[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) throw specError(at, m, "must be { role, content }");
    const { role, content, ...rest } = m as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw specError(`${at}.${extra}`, rest[extra], "unknown field; allowed: role, content");
    if (typeof role !== "string" || !(CHAT_ROLES as readonly string[]).includes(role)) {
      throw specError(`${at}.role`, role, `must be one of ${CHAT_ROLES.join(", ")}`);
    }
    if (typeof content !== "string") throw specError(`${at}.content`, content, "must be a string");
    return { role: role as ChatRole, content };
  });
}

function fill(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(VARIABLE, (_, name: string) => values[name] as string);
}

/**
 * The template with every placeholder replaced. A variable the template uses but `values` lacks,
 * or a value the template does not use, is an INVALID_PARAMETER_VALUE error naming it.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, unknown>>): string;
export function renderTemplate(
  template: readonly ChatMessage[],
  values: Readonly<Record<string, unknown>>,
): ChatMessage[];
export function renderTemplate(template: PromptTemplate, values: Readonly<Record<string, unknown>>): PromptTemplate;
export function renderTemplate(template: PromptTemplate, values: Readonly<Record<string, unknown>>): PromptTemplate {
  const wanted = templateVariables(template);
  const missing = wanted.filter((v) => !Object.hasOwn(values, v));
  if (missing.length > 0) {
    throw new InvalidParameterError(`missing prompt variable${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`, {
      details: { field: "variables", missing, rule: "every {{variable}} of the template needs a value" },
    });
  }
  const extra = Object.keys(values).filter((k) => !wanted.includes(k));
  if (extra.length > 0) {
    throw new InvalidParameterError(
      `unknown prompt variable${extra.length > 1 ? "s" : ""}: ${extra.join(", ")} (the template uses: ${wanted.join(", ") || "none"})`,
      { details: { field: "variables", extra, rule: "only the template's variables may be given" } },
    );
  }
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw specError(`variables.${k}`, v, "must be a string, number or boolean");
    }
    strings[k] = String(v);
  }
  if (typeof template === "string") return fill(template, strings);
  return template.map((m) => ({
    role: m.role,
    content: fill(m.content, strings),
  }));
}
