import { readFile } from "node:fs/promises";
import { InvalidParameterError, isKeelError, keelErrorOf } from "./errors.js";

/**
 * The server's caps on what one request may carry (docs/api.md, "Limits"). A request over one is
 * refused with 400 (413 for the body, 414 for a path segment) naming the limit; nothing is cut
 * silently.
 */
export const REQUEST_LIMITS = {
  /** Bytes of one request body. */
  bodyBytes: 16 * 1024 * 1024,
  /** Nesting of arrays and objects in a JSON body. */
  jsonDepth: 64,
  /** Characters of one path segment (a model, endpoint or prompt name in the URL). */
  pathParamChars: 512,
  /** Characters of a name, key, alias, stage or id. */
  nameChars: 256,
  /** Characters of any other string field (descriptions, tag and param values, filters, sources). */
  textChars: 65_536,
  /** Characters of a bad value an error message quotes. */
  quotedValueChars: 100,
  /** Shadow models of one endpoint. */
  shadowsPerEndpoint: 16,
  /** Label items of one `POST /api/keel/labels`. */
  labelsPerRequest: 10_000,
} as const;

/** The longest rendering of a bad value a message quotes: inputs may be megabytes. */
const MAX_VALUE_TEXT = REQUEST_LIMITS.quotedValueChars;

function fullValueText(value: unknown): string {
  try {
    return typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    // Too deep or cyclic to render: say what it is instead of recursing again.
    return Array.isArray(value) ? `(array of ${value.length})` : `(${typeof value})`;
  }
}

/** A bad value as an error message shows it: JSON (numbers as `String` would), cut to ~100 characters. */
export function specValueText(value: unknown): string {
  return cut(fullValueText(value));
}

function cut(text: string): string {
  return text.length > MAX_VALUE_TEXT ? `${text.slice(0, MAX_VALUE_TEXT - 3)}...` : text;
}

/**
 * The error every declarative spec and every input check reports: `field = value: rule`. `details.value`
 * holds the value itself, or its cut rendering when the value is too long to quote.
 */
export function specError(field: string, value: unknown, rule: string): InvalidParameterError {
  const full = fullValueText(value);
  const text = cut(full);
  return new InvalidParameterError(`${field} = ${text}: ${rule}`, {
    details: { field, value: text === full ? value : text, rule },
  });
}

export function specArray(json: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(json)) throw specError(path, json, "must be an array");
  return json;
}

/**
 * The object at `path` (`""`: the file's root, whose fields are named bare), refusing keys outside
 * `allowed` (a misspelt key would otherwise be ignored).
 */
export function specObject(json: unknown, path: string, allowed: readonly string[]): Readonly<Record<string, unknown>> {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw specError(path === "" ? "(root)" : path, json, "must be an object");
  const obj = json as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k))
      throw specError(path === "" ? k : `${path}.${k}`, obj[k], `unknown field; allowed: ${allowed.join(", ")}`);
  }
  return obj;
}

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  readonly positive?: boolean;
}

/** `value` as a number satisfying `rule`; the error names `field`. */
export function specNumberValue(value: unknown, field: string, rule: NumberRule): number {
  const parts: string[] = [rule.integer ? "an integer" : "a finite number"];
  if (rule.positive) parts.push("> 0");
  if (rule.min !== undefined) parts.push(`≥ ${rule.min}`);
  if (rule.max !== undefined) parts.push(`≤ ${rule.max}`);
  const text = `must be ${parts.join(", ")}`;
  if (typeof value !== "number" || !Number.isFinite(value)) throw specError(field, value, text);
  if (rule.integer && !Number.isInteger(value)) throw specError(field, value, text);
  if (rule.positive && !(value > 0)) throw specError(field, value, text);
  if (rule.min !== undefined && value < rule.min) throw specError(field, value, text);
  if (rule.max !== undefined && value > rule.max) throw specError(field, value, text);
  return value;
}

export function specNumber(
  obj: Readonly<Record<string, unknown>>,
  key: string,
  path: string,
  rule: NumberRule,
): number | undefined {
  const v = obj[key];
  return v === undefined ? undefined : specNumberValue(v, `${path}.${key}`, rule);
}

export function specString(obj: Readonly<Record<string, unknown>>, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") throw specError(`${path}.${key}`, v, "must be a non-empty string");
  return v;
}

/** One of a closed list (e.g. `["sync", "async"] as const`). */
export function specOneOf<T extends string>(
  obj: Readonly<Record<string, unknown>>,
  key: string,
  path: string,
  allowed: readonly T[],
): T | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw specError(`${path}.${key}`, v, `must be one of ${allowed.join(", ")}`);
  return found;
}

export function specRequired<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw specError(field, undefined, "is required");
  return value;
}

/**
 * Reads a JSON (or, by extension, YAML) spec file and parses it. Every error names the file:
 * `<file>: cannot be read`, `<file>: not valid JSON (…)`, or `<file>: field = value: rule` for
 * what `parse` refuses.
 */
export async function readSpecFile<T>(file: string, parse: (json: unknown) => T): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new InvalidParameterError(`${file}: cannot be read`, {
      cause,
      details: { field: "file", value: file, rule: "a readable file" },
    });
  }
  const format = /\.ya?ml$/i.test(file) ? "YAML" : "JSON";
  // Loaded only for a YAML file: the parser costs every command that reads JSON specs ~40 ms.
  const parseYaml = format === "YAML" ? (await import("yaml")).parse : undefined;
  let json: unknown;
  try {
    json = parseYaml !== undefined ? parseYaml(text) : JSON.parse(text);
  } catch (cause) {
    // Parsers' messages may quote several lines of the file; the CLI prints errors as one line.
    const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/\s*\n\s*/g, " ");
    throw new InvalidParameterError(`${file}: not valid ${format} (${reason})`, {
      cause,
      details: { field: "file", value: file, rule: `valid ${format}` },
    });
  }
  return inSpecFile(file, () => parse(json));
}

/** Runs `parse`, naming `file` in front of the message of any keel error it throws. */
export function inSpecFile<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!isKeelError(e)) throw e;
    throw keelErrorOf(e.code, `${file}: ${e.message}`, { cause: e, details: { ...e.details, file } });
  }
}

export const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_CADENCE_MS = 31 * 86_400_000;

/** The rule a monitoring window's length (a cadence) follows, as error messages state it. */
export const CADENCE_RULE = "must be hourly, daily or a number of minutes, hours or days (15m, 4h, 7d) up to 31d";

/**
 * A monitoring window's length in ms — `hourly`, `daily`, or a whole number of minutes, hours or
 * days (`15m`, `4h`, `7d`) up to 31 days — or undefined when `cadence` is not one.
 */
export function cadenceMs(cadence: string): number | undefined {
  if (cadence === "hourly") return UNIT_MS.h;
  if (cadence === "daily") return UNIT_MS.d;
  const m = /^([1-9][0-9]{0,4})([mhd])$/.exec(cadence);
  if (m === null) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms <= MAX_CADENCE_MS ? ms : undefined;
}
