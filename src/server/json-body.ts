import type { FastifyReply, FastifyRequest } from "fastify";
import { InvalidParameterError } from "../errors.js";

/**
 * JSON bodies of the hot routes (predictions, online features): one `JSON.parse` of the text.
 * Readers only read the parsed document (nothing is merged into existing objects), so prototype
 * keys are harmless.
 */
export function parseJsonBody(
  _req: FastifyRequest,
  body: string | Buffer,
  done: (err: Error | null, body?: unknown) => void,
): void {
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (text.trim() === "") {
    done(
      new InvalidParameterError("request body: empty; send a JSON document", {
        details: { field: "body", rule: "non-empty JSON document" },
      }),
    );
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    done(
      new InvalidParameterError(`request body: not valid JSON (${(e as Error).message})`, {
        details: { field: "body", rule: "valid JSON" },
      }),
    );
    return;
  }
  done(null, parsed);
}

/** An answer already written as JSON text. */
export function sendJson(reply: FastifyReply, json: string): void {
  void reply.type("application/json; charset=utf-8").send(json);
}
