import type { FastifyReply, FastifyRequest } from "fastify";
import { InvalidParameterError } from "../errors.js";
import { REQUEST_LIMITS } from "../spec-fields.js";

/**
 * The deepest nesting of arrays and objects in `text`, scanned without recursion (strings skipped),
 * stopping as soon as it passes `limit`: JSON.parse itself copes with deep documents, but every
 * recursive walk after it (error messages, serialisers, validators) would overflow the stack.
 */
export function jsonDepthOver(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > limit) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

/** Keys that would reach an object's prototype if a reader ever merged the document into another object. */
const PROTOTYPE_KEY = /"(?:__proto__|constructor)"\s*:/;

function refusePrototypeKeys(text: string): void {
  if (!PROTOTYPE_KEY.test(text)) return;
  JSON.parse(text, (key, value: unknown) => {
    if (
      key === "__proto__" ||
      (key === "constructor" && typeof value === "object" && value !== null && "prototype" in value)
    ) {
      throw new InvalidParameterError(`request body: key ${JSON.stringify(key)} is not allowed`, {
        details: { field: "body", rule: "no __proto__ or constructor.prototype keys" },
      });
    }
    return value;
  });
}

/**
 * Every JSON body: one `JSON.parse` of the text after a depth check (REQUEST_LIMITS.jsonDepth).
 * Prototype keys are refused, as Fastify's own parser does, so no reader need think about them.
 * Throws an InvalidParameterError naming the rule the text breaks.
 */
export function parseJsonText(text: string): unknown {
  if (text.trim() === "") {
    throw new InvalidParameterError("request body: empty; send a JSON document", {
      details: { field: "body", rule: "non-empty JSON document" },
    });
  }
  const limit = REQUEST_LIMITS.jsonDepth;
  if (jsonDepthOver(text, limit)) {
    throw new InvalidParameterError(`request body: JSON nested deeper than ${limit} levels`, {
      details: { field: "body", rule: `nesting depth at most ${limit}`, limit },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    refusePrototypeKeys(text);
  } catch (e) {
    if (e instanceof InvalidParameterError) throw e;
    throw new InvalidParameterError(`request body: not valid JSON (${(e as Error).message.slice(0, 200)})`, {
      details: { field: "body", rule: "valid JSON" },
    });
  }
  return parsed;
}

/** `parseJsonText` as a Fastify content-type parser. */
export function parseJsonBody(
  _req: FastifyRequest,
  body: string | Buffer,
  done: (err: Error | null, body?: unknown) => void,
): void {
  let parsed: unknown;
  try {
    parsed = parseJsonText(typeof body === "string" ? body : body.toString("utf8"));
  } catch (e) {
    done(e as Error);
    return;
  }
  done(null, parsed);
}

/** An answer already written as JSON text. */
export function sendJson(reply: FastifyReply, json: string): void {
  void reply.type("application/json; charset=utf-8").send(json);
}
