/**
 * The closed error catalog. Every failure keel reports carries one of these codes; the server
 * maps code → HTTP status → MLflow error code in one place, and the CLI prints `code: message`.
 */
export const ERROR_CATALOG = {
  INVALID_PARAMETER_VALUE: { status: 400, mlflow: "INVALID_PARAMETER_VALUE" },
  RESOURCE_DOES_NOT_EXIST: { status: 404, mlflow: "RESOURCE_DOES_NOT_EXIST" },
  RESOURCE_ALREADY_EXISTS: { status: 400, mlflow: "RESOURCE_ALREADY_EXISTS" },
  ENDPOINT_NOT_FOUND: { status: 404, mlflow: "ENDPOINT_NOT_FOUND" },
  INVALID_STATE: { status: 400, mlflow: "INVALID_STATE" },
  UNAUTHENTICATED: { status: 401, mlflow: "UNAUTHENTICATED" },
  PERMISSION_DENIED: { status: 403, mlflow: "PERMISSION_DENIED" },
  DATA_LOSS: { status: 500, mlflow: "DATA_LOSS" },
  TEMPORARILY_UNAVAILABLE: { status: 503, mlflow: "TEMPORARILY_UNAVAILABLE" },
  INTERNAL_ERROR: { status: 500, mlflow: "INTERNAL_ERROR" },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface KeelErrorOptions {
  readonly cause?: unknown;
  /** Machine-readable context (field, value, rule …), returned to HTTP clients as `details`. */
  readonly details?: Record<string, unknown>;
}

/**
 * Marks keel's errors across copies of the package (two versions in one `node_modules`, or the
 * CLI's copy and a plugin's): `instanceof` sees only its own copy's class, the registry symbol is
 * shared by all.
 */
const KEEL_ERROR = Symbol.for("keel.error");

export class KeelError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Machine-readable context (field, value, rule …), returned to HTTP clients as `details`. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: KeelErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.details = options?.details;
  }

  get mlflowCode(): string {
    return ERROR_CATALOG[this.code].mlflow;
  }

  get [KEEL_ERROR](): true {
    return true;
  }
}

/** A named thing (experiment, run, model, version, alias, file …) does not exist. */
export class NotFoundError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super("RESOURCE_DOES_NOT_EXIST", message, options);
  }
}

/** No route with this method and path under MLflow's API prefixes. */
export class EndpointNotFoundError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super("ENDPOINT_NOT_FOUND", message, options);
  }
}

/** Bad input: the message names the field, the value and the rule. */
export class InvalidParameterError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super("INVALID_PARAMETER_VALUE", message, options);
  }
}

/** A unique name or key is already taken. */
export class ConflictError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super("RESOURCE_ALREADY_EXISTS", message, options);
  }
}

/** The resource exists but is in a state that forbids the operation (e.g. a deleted run). */
export class InvalidStateError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super("INVALID_STATE", message, options);
  }
}

/** No or unknown credentials. */
export class AuthenticationError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super("UNAUTHENTICATED", message, options);
  }
}

/** Known caller, insufficient role. */
export class PermissionError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super("PERMISSION_DENIED", message, options);
  }
}

/** Stored bytes do not match their recorded checksum, or a hash chain is broken. */
export class DataIntegrityError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super("DATA_LOSS", message, options);
  }
}

/** Not ready yet (model loading, store migrating); retrying later may succeed. */
export class UnavailableError extends KeelError {
  constructor(message: string, options?: KeelErrorOptions) {
    super("TEMPORARILY_UNAVAILABLE", message, options);
  }
}

/** The subclass each code is thrown as; INTERNAL_ERROR is a plain KeelError. */
const ERROR_CLASSES: {
  readonly [C in Exclude<ErrorCode, "INTERNAL_ERROR">]: new (message: string, options?: KeelErrorOptions) => KeelError;
} = {
  INVALID_PARAMETER_VALUE: InvalidParameterError,
  RESOURCE_DOES_NOT_EXIST: NotFoundError,
  RESOURCE_ALREADY_EXISTS: ConflictError,
  ENDPOINT_NOT_FOUND: EndpointNotFoundError,
  INVALID_STATE: InvalidStateError,
  UNAUTHENTICATED: AuthenticationError,
  PERMISSION_DENIED: PermissionError,
  DATA_LOSS: DataIntegrityError,
  TEMPORARILY_UNAVAILABLE: UnavailableError,
};

/** The error of `code` as its own subclass, so `instanceof NotFoundError` holds for one rebuilt from HTTP. */
export function keelErrorOf(code: ErrorCode, message: string, options?: KeelErrorOptions): KeelError {
  return code === "INTERNAL_ERROR" ? new KeelError(code, message, options) : new ERROR_CLASSES[code](message, options);
}

/** True for keel's errors, including those of another copy of the package. */
export function isKeelError(e: unknown): e is KeelError {
  return (
    e instanceof KeelError ||
    (typeof e === "object" && e !== null && (e as { [KEEL_ERROR]?: unknown })[KEEL_ERROR] === true)
  );
}
