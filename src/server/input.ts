import type { FastifyRequest } from "fastify";
import { InvalidParameterError } from "../errors.js";
import { specError } from "../spec-fields.js";

type Raw = Readonly<Record<string, unknown>>;

function missing(field: string): InvalidParameterError {
  return new InvalidParameterError(`Missing value for required parameter '${field}'`, {
    details: { field, rule: "required" },
  });
}

/**
 * Request parameters as MLflow accepts them: a JSON body (POST / PATCH / DELETE) or the query
 * string (GET, where numbers arrive as text and lists as repeated keys). Every reader names the
 * field, the value and the rule when it refuses one.
 */
export class Input {
  private readonly raw: Raw;

  constructor(raw: Raw) {
    this.raw = raw;
  }

  static of(req: FastifyRequest): Input {
    const query = (req.query ?? {}) as Raw;
    const params = (req.params ?? {}) as Raw;
    const body = req.body;
    if (body !== undefined && body !== null && (typeof body !== "object" || Array.isArray(body))) {
      throw specError("request body", body, "must be a JSON object");
    }
    return new Input({ ...query, ...((body as Raw | null | undefined) ?? {}), ...params });
  }

  has(field: string): boolean {
    const v = this.raw[field];
    return v !== undefined && v !== null;
  }

  private scalar(field: string): unknown {
    const v = this.raw[field];
    // A repeated query key for a scalar field: the last one wins, as Flask's request.args does.
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v[v.length - 1] : v;
  }

  string(field: string): string | undefined {
    const v = this.scalar(field);
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "bigint") return String(v);
    throw specError(field, v, "must be a string");
  }

  requiredString(field: string): string {
    const v = this.string(field);
    if (v === undefined || v === "") throw missing(field);
    return v;
  }

  /** The first of several accepted names (e.g. `run_id`, then the older `run_uuid`). */
  requiredStringOf(...fields: string[]): string {
    for (const f of fields) {
      const v = this.string(f);
      if (v !== undefined && v !== "") return v;
    }
    throw missing(fields[0] ?? "");
  }

  integer(field: string, range: { min?: number; max?: number } = {}): number | undefined {
    const v = this.scalar(field);
    if (v === undefined || v === null || v === "") return undefined;
    const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw specError(field, v, "must be an integer");
    if (range.min !== undefined && n < range.min) throw specError(field, v, `must be at least ${range.min}`);
    if (range.max !== undefined && n > range.max) throw specError(field, v, `must be at most ${range.max}`);
    return n;
  }

  requiredInteger(field: string, range: { min?: number; max?: number } = {}): number {
    const n = this.integer(field, range);
    if (n === undefined) throw missing(field);
    return n;
  }

  /** A double as protobuf JSON writes it: a number, or "NaN" / "Infinity" / "-Infinity". */
  requiredDouble(field: string): number {
    const v = this.scalar(field);
    if (v === undefined || v === null || v === "") throw missing(field);
    return toDouble(field, v);
  }

  boolean(field: string): boolean | undefined {
    const v = this.scalar(field);
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v === "boolean") return v;
    if (typeof v === "string") {
      const s = v.toLowerCase();
      if (s === "true") return true;
      if (s === "false") return false;
    }
    throw specError(field, v, "must be true or false");
  }

  requiredBoolean(field: string): boolean {
    const v = this.boolean(field);
    if (v === undefined) throw missing(field);
    return v;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T | undefined {
    const v = this.string(field);
    if (v === undefined || v === "") return undefined;
    if (!(allowed as readonly string[]).includes(v)) throw specError(field, v, `must be one of ${allowed.join(", ")}`);
    return v as T;
  }

  /**
   * A protobuf enum as MLflow's REST API takes it: the value's name, or its number (protobuf JSON
   * allows both; Julia's and R's clients send numbers). MLflow's enums number their values from 1
   * in the order `allowed` lists them.
   */
  protoEnum<T extends string>(field: string, allowed: readonly T[]): T | undefined {
    const v = this.scalar(field);
    const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined;
    if (n === undefined) return this.oneOf(field, allowed);
    const name = Number.isInteger(n) ? allowed[n - 1] : undefined;
    if (name === undefined) {
      throw specError(field, v, `must be one of ${allowed.map((a, i) => `${a} (${i + 1})`).join(", ")}`);
    }
    return name;
  }

  requiredProtoEnum<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.protoEnum(field, allowed);
    if (v === undefined) throw missing(field);
    return v;
  }

  requiredOneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.oneOf(field, allowed);
    if (v === undefined) throw missing(field);
    return v;
  }

  /** A repeated string field: a JSON array, one query value, or repeated query keys. */
  stringList(field: string): string[] {
    const v = this.raw[field];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? (v as unknown[]) : [v];
    return list.map((x, i) => {
      if (typeof x === "string") return x;
      if (typeof x === "number") return String(x);
      throw specError(`${field}[${i}]`, x, "must be a string");
    });
  }

  /** A repeated message field (JSON body only). */
  objectList(field: string): Input[] {
    const v = this.raw[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw specError(field, v, "must be a JSON array");
    return (v as unknown[]).map((x, i) => {
      if (typeof x !== "object" || x === null || Array.isArray(x))
        throw specError(`${field}[${i}]`, x, "must be an object");
      return new Input(x as Raw);
    });
  }

  object(field: string): Input | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) throw specError(field, v, "must be an object");
    return new Input(v as Raw);
  }

  /** The untouched value, for fields keel stores as given (e.g. a signature). */
  rawValue(field: string): unknown {
    return this.raw[field];
  }
}

export function toDouble(field: string, v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    if (v === "NaN") return NaN;
    if (v === "Infinity" || v === "inf") return Infinity;
    if (v === "-Infinity" || v === "-inf") return -Infinity;
    const n = Number(v);
    if (v.trim() !== "" && !Number.isNaN(n)) return n;
  }
  throw specError(field, v, "must be a number");
}

/** Doubles as protobuf JSON writes them, so NaN and infinities survive the round trip. */
export function doubleOut(n: number): number | string {
  if (Number.isFinite(n)) return n;
  if (Number.isNaN(n)) return "NaN";
  return n > 0 ? "Infinity" : "-Infinity";
}
