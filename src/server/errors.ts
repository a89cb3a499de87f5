import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { EndpointNotFoundError, ERROR_CATALOG, KeelError, NotFoundError, isKeelError } from "../errors.js";
import type { ErrorCode } from "../errors.js";

/** MLflow's error body, plus keel's machine-readable `details` when there are any. */
export interface ErrorBody {
  readonly error_code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The longest message and detail text an error body carries: a bad input may be megabytes. */
const MAX_MESSAGE_CHARS = 1000;
const MAX_DETAIL_CHARS = 200;

function shortened(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** `details` with long strings cut and anything nested replaced by a short JSON prefix. */
function shortDetails(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) {
    if (typeof v === "string") out[k] = shortened(v, MAX_DETAIL_CHARS);
    else if (typeof v !== "object" || v === null) out[k] = v;
    else {
      let json: string;
      try {
        json = JSON.stringify(v);
      } catch {
        json = "(too deep to show)";
      }
      out[k] = json.length <= MAX_DETAIL_CHARS ? v : shortened(json, MAX_DETAIL_CHARS);
    }
  }
  return out;
}

/** The error as an HTTP body; never more than a short prefix of a bad value, however large it was. */
export function errorBody(error: KeelError): ErrorBody {
  const message = shortened(error.message, MAX_MESSAGE_CHARS);
  return error.details === undefined
    ? { error_code: error.mlflowCode, message }
    : { error_code: error.mlflowCode, message, details: shortDetails(error.details) };
}

function isFastifyError(e: unknown): e is FastifyError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string";
}

/**
 * Maps any thrown value to a KeelError: keel's own pass through; Fastify's client errors (bad
 * JSON, wrong content type, body too large, schema validation) become INVALID_PARAMETER_VALUE
 * with their 4xx status kept; anything else is an internal error.
 */
export function toKeelError(error: unknown): { error: KeelError; status: number } {
  if (isKeelError(error)) return { error, status: error.status };
  if (isFastifyError(error)) {
    const status = error.statusCode ?? 500;
    if (error.validation !== undefined || (status >= 400 && status < 500)) {
      const code: ErrorCode = "INVALID_PARAMETER_VALUE";
      const message =
        error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || error instanceof SyntaxError
          ? `request body: not valid JSON (${error.message})`
          : `request: ${error.message}`;
      return { error: new KeelError(code, message), status: status >= 400 && status < 500 ? status : 400 };
    }
  }
  if (error instanceof SyntaxError) {
    return {
      error: new KeelError("INVALID_PARAMETER_VALUE", `request body: not valid JSON (${error.message})`),
      status: 400,
    };
  }
  return { error: new KeelError("INTERNAL_ERROR", "internal server error", { cause: error }), status: 500 };
}

/** The headers of an error answer: a busy database or a model still loading tells the client when to try again. */
export function errorHeaders(status: number): Record<string, string> {
  return status === 503 ? { "retry-after": "1" } : {};
}

export function sendError(reply: FastifyReply, error: KeelError, status: number = error.status): FastifyReply {
  void reply.headers(errorHeaders(status));
  return reply.status(status).type("application/json; charset=utf-8").send(errorBody(error));
}

const MLFLOW_API = /^\/(ajax-)?api\/[23]\.0\/mlflow(\/|$)/;

/** A thrown value as keel's error handler answers it, after the driver error translation. */
export function handledError(
  thrown: unknown,
  translateDriverError: ((e: unknown) => unknown) | undefined,
): { raw: unknown; error: KeelError; status: number } {
  const raw = translateDriverError === undefined ? thrown : translateDriverError(thrown);
  return { raw, ...toKeelError(raw) };
}

/**
 * One place where errors become HTTP: status from the catalog, MLflow's body shape. A driver error
 * that escaped its store untranslated (busy database, unique violation) goes through the metadata
 * database's `translateError` first, so it is a 503 or 409 and never a 500.
 */
export function installErrorHandling(app: FastifyInstance, translateDriverError?: (e: unknown) => unknown): void {
  app.setErrorHandler((thrown, request, reply) => {
    const { raw, error, status } = handledError(thrown, translateDriverError);
    if (status >= 500) request.log.error({ err: raw }, "request failed");
    return sendError(reply, error, status);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    const message = `no endpoint ${request.method} ${path}`;
    // MLflow's clients tell an unknown API route (an older server) from a missing object by this code.
    const error = MLFLOW_API.test(path) ? new EndpointNotFoundError(message) : new NotFoundError(message);
    return sendError(reply, error, ERROR_CATALOG.RESOURCE_DOES_NOT_EXIST.status);
  });
}
