import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { EndpointNotFoundError, ERROR_CATALOG, KeelError, NotFoundError, isKeelError } from "../errors.js";
import type { ErrorCode } from "../errors.js";

/** MLflow's error body, plus keel's machine-readable `details` when there are any. */
export interface ErrorBody {
  readonly error_code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export function errorBody(error: KeelError): ErrorBody {
  return error.details === undefined
    ? { error_code: error.mlflowCode, message: error.message }
    : { error_code: error.mlflowCode, message: error.message, details: error.details };
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

export function sendError(reply: FastifyReply, error: KeelError, status: number = error.status): FastifyReply {
  return reply.status(status).type("application/json; charset=utf-8").send(errorBody(error));
}

const MLFLOW_API = /^\/(ajax-)?api\/[23]\.0\/mlflow(\/|$)/;

/** One place where errors become HTTP: status from the catalog, MLflow's body shape. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw, request, reply) => {
    const { error, status } = toKeelError(raw);
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
