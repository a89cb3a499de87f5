/**
 * The closed error catalog. Every failure keel reports carries one of these codes; the server
 * maps code → HTTP status → MLflow error code in one place, and the CLI prints `code: message`.
 */
export const ERROR_CATALOG = {
  INVALID_PARAMETER_VALUE: { status: 400, mlflow: "INVALID_PARAMETER_VALUE" },
  RESOURCE_DOES_NOT_EXIST: { status: 404, mlflow: "RESOURCE_DOES_NOT_EXIST" },
  RESOURCE_ALREADY_EXISTS: { status: 400, mlflow: "RESOURCE_ALREADY_EXISTS" },
  INVALID_STATE: { status: 400, mlflow: "INVALID_STATE" },
  UNAUTHENTICATED: { status: 401, mlflow: "UNAUTHENTICATED" },
  PERMISSION_DENIED: { status: 403, mlflow: "PERMISSION_DENIED" },
  DATA_LOSS: { status: 500, mlflow: "DATA_LOSS" },
  TEMPORARILY_UNAVAILABLE: { status: 503, mlflow: "TEMPORARILY_UNAVAILABLE" },
  INTERNAL_ERROR: { status: 500, mlflow: "INTERNAL_ERROR" },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export class KeelError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Machine-readable context (field, value, rule …), returned to HTTP clients as `details`. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.details = options?.details;
  }

  get mlflowCode(): string {
    return ERROR_CATALOG[this.code].mlflow;
  }
}

/** A named thing (experiment, run, model, version, alias, file …) does not exist. */
export class NotFoundError extends KeelError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super("RESOURCE_DOES_NOT_EXIST", message, options);
  }
}

/** Bad input: the message names the field, the value and the rule. */
export class InvalidParameterError extends KeelError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super("INVALID_PARAMETER_VALUE", message, options);
  }
}

/** A unique name or key is already taken. */
export class ConflictError extends KeelError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super("RESOURCE_ALREADY_EXISTS", message, options);
  }
}

/** The resource exists but is in a state that forbids the operation (e.g. a deleted run). */
export class InvalidStateError extends KeelError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super("INVALID_STATE", message, options);
  }
}

/** No or unknown credentials. */
export class AuthenticationError extends KeelError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super("UNAUTHENTICATED", message, options);
  }
}

/** Known caller, insufficient role. */
export class PermissionError extends KeelError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super("PERMISSION_DENIED", message, options);
  }
}

/** Stored bytes do not match their recorded checksum, or a hash chain is broken. */
export class DataIntegrityError extends KeelError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super("DATA_LOSS", message, options);
  }
}

/** Not ready yet (model loading, store migrating); retrying later may succeed. */
export class UnavailableError extends KeelError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super("TEMPORARILY_UNAVAILABLE", message, options);
  }
}

export function isKeelError(e: unknown): e is KeelError {
  return e instanceof KeelError;
}
