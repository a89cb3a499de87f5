import { InvalidParameterError } from "./errors.js";

/** The error every declarative spec reports: `field = value: rule`. */
export function specError(field: string, value: unknown, rule: string): InvalidParameterError {
  return new InvalidParameterError(
    `${field} = ${typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value))}: ${rule}`,
    {
      details: { field, value, rule },
    },
  );
}

export function specArray(json: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(json)) throw specError(path, json, "must be an array");
  return json;
}

/** The object at `path`, refusing keys outside `allowed` (a misspelt key would otherwise be ignored). */
export function specObject(json: unknown, path: string, allowed: readonly string[]): Readonly<Record<string, unknown>> {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw specError(path, json, "must be an object");
  const obj = json as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw specError(`${path}.${k}`, obj[k], `unknown field; allowed: ${allowed.join(", ")}`);
  }
  return obj;
}

export function specNumber(
  obj: Readonly<Record<string, unknown>>,
  key: string,
  path: string,
  rule: { min?: number; max?: number; integer?: boolean; positive?: boolean },
): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  const field = `${path}.${key}`;
  const parts: string[] = [rule.integer ? "an integer" : "a finite number"];
  if (rule.positive) parts.push("> 0");
  if (rule.min !== undefined) parts.push(`≥ ${rule.min}`);
  if (rule.max !== undefined) parts.push(`≤ ${rule.max}`);
  const text = `must be ${parts.join(", ")}`;
  if (typeof v !== "number" || !Number.isFinite(v)) throw specError(field, v, text);
  if (rule.integer && !Number.isInteger(v)) throw specError(field, v, text);
  if (rule.positive && !(v > 0)) throw specError(field, v, text);
  if (rule.min !== undefined && v < rule.min) throw specError(field, v, text);
  if (rule.max !== undefined && v > rule.max) throw specError(field, v, text);
  return v;
}

export function specString(obj: Readonly<Record<string, unknown>>, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") throw specError(`${path}.${key}`, v, "must be a non-empty string");
  return v;
}

export function specRequired<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw specError(field, undefined, "is required");
  return value;
}
