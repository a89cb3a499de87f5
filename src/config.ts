import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidParameterError } from "./errors.js";

/**
 * The one config loader: flags > environment (KEEL_*) > config file (JSON) > defaults.
 * Nothing else in keel reads `process.env`; callers pass `env` in so tests stay hermetic.
 */
export interface KeelConfig {
  /** Root of the embedded default: SQLite file and artifacts live here. */
  readonly dataDir: string;
  /** `sqlite:///abs/path.db` or `postgresql://…`; default `sqlite:///<dataDir>/keel.db`. */
  readonly backendStoreUri: string;
  /**
   * Where artifact bytes live: a directory (default `<dataDir>/artifacts`) or an S3-compatible
   * `s3://bucket/prefix` (`--artifacts-destination`).
   */
  readonly artifactRoot: string;
  /** How to reach the S3-compatible server of an `s3://` artifact root. */
  readonly s3: S3Settings;
  readonly host: string;
  readonly port: number;
  /** Port of the Open Inference Protocol's gRPC service (`--grpc-port`); off when unset, 0 for any free port. */
  readonly grpcPort: number | undefined;
  /** Bearer-token auth; off by default. */
  readonly authEnabled: boolean;
  /** With auth on, whether the probes (`/ping`, `/health`, `/v2/health/*`, model readiness) and `/metrics` need credentials too; off by default. */
  readonly probesRequireAuth: boolean;
  /** Optional Redis URL for the online feature store and prediction cache. */
  readonly redisUrl: string | undefined;
  /** Shared secret for registry webhook HMAC signatures. */
  readonly webhookSecret: string | undefined;
  /** CLI remote mode: a running keel server to talk to instead of the local store. */
  readonly trackingUri: string | undefined;
  /** Bearer token the CLI sends in remote mode. */
  readonly token: string | undefined;
  /** Log level for the server's logger. */
  readonly logLevel: "silent" | "error" | "warn" | "info" | "debug";
}

/**
 * S3 connection settings, read from the AWS SDK's standard environment names (or the config
 * file's `s3` object); unset ones are left to the SDK's own resolution (profiles, instance roles).
 */
export interface S3Settings {
  /** `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`: an S3-compatible server such as MinIO. */
  readonly endpoint: string | undefined;
  /** `AWS_REGION`. */
  readonly region: string | undefined;
  /** `AWS_S3_FORCE_PATH_STYLE=true`: `host/bucket/key` addressing, for servers without virtual hosts. */
  readonly forcePathStyle: boolean;
  /** `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`. */
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly sessionToken: string | undefined;
  /** `KEEL_S3_PART_SIZE`: multipart threshold and part size in bytes. */
  readonly partSize: number | undefined;
}

export interface ConfigSources {
  flags?: Partial<Record<FlatKey | "configFile", string | number | boolean | undefined>>;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

type FlatKey = Exclude<keyof KeelConfig, "s3">;

const ENV_NAMES: Record<FlatKey, string> = {
  dataDir: "KEEL_DATA_DIR",
  backendStoreUri: "KEEL_BACKEND_STORE_URI",
  artifactRoot: "KEEL_ARTIFACT_ROOT",
  host: "KEEL_HOST",
  port: "KEEL_PORT",
  grpcPort: "KEEL_GRPC_PORT",
  authEnabled: "KEEL_AUTH",
  probesRequireAuth: "KEEL_PROBES_REQUIRE_AUTH",
  redisUrl: "KEEL_REDIS_URL",
  webhookSecret: "KEEL_WEBHOOK_SECRET",
  trackingUri: "KEEL_TRACKING_URI",
  token: "KEEL_TOKEN",
  logLevel: "KEEL_LOG_LEVEL",
};

const LOG_LEVELS = ["silent", "error", "warn", "info", "debug"] as const;

function pick(
  key: FlatKey,
  flags: ConfigSources["flags"],
  env: Readonly<Record<string, string | undefined>>,
  file: Record<string, unknown>,
): unknown {
  const fromFlag = flags?.[key];
  if (fromFlag !== undefined && fromFlag !== "") return fromFlag;
  const fromEnv = env[ENV_NAMES[key]];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  return file[key];
}

function asPort(value: unknown, source: string): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidParameterError(`${source}: port ${JSON.stringify(value)} must be an integer from 0 to 65535`);
  }
  return n;
}

function asString(value: unknown, source: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return `${value}`;
  throw new InvalidParameterError(`${source}: ${JSON.stringify(value)} must be a string`);
}

function asBool(value: unknown, source: string): boolean {
  if (typeof value === "boolean") return value;
  const s = String(value).toLowerCase();
  if (["1", "true", "yes", "on"].includes(s)) return true;
  if (["0", "false", "no", "off"].includes(s)) return false;
  throw new InvalidParameterError(`${source}: ${JSON.stringify(value)} must be true or false`);
}

export function loadConfig(sources: ConfigSources = {}): KeelConfig {
  const env = sources.env ?? {};
  const cwd = sources.cwd ?? process.cwd();
  const configFile = sources.flags?.configFile ?? env.KEEL_CONFIG;
  let file: Record<string, unknown> = {};
  if (typeof configFile === "string" && configFile !== "") {
    try {
      file = JSON.parse(readFileSync(path.resolve(cwd, configFile), "utf8")) as Record<string, unknown>;
    } catch (cause) {
      throw new InvalidParameterError(`config file ${configFile}: cannot be read as JSON`, { cause });
    }
  }
  const get = (k: FlatKey) => pick(k, sources.flags, env, file);

  const dataDir = path.resolve(cwd, asString(get("dataDir") ?? "keel-data", "data-dir"));
  const backendStoreUri = asString(
    get("backendStoreUri") ?? `sqlite:///${path.join(dataDir, "keel.db")}`,
    "backend-store-uri",
  );
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(backendStoreUri)) {
    throw new InvalidParameterError(
      `backend-store-uri ${JSON.stringify(backendStoreUri)} must start with sqlite:// or postgresql://`,
    );
  }
  const artifactRootRaw = asString(get("artifactRoot") ?? path.join(dataDir, "artifacts"), "artifacts-destination");
  const artifactRoot = artifactsDestination(artifactRootRaw, cwd);
  const logLevel = asString(get("logLevel") ?? "warn", "log-level");
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new InvalidParameterError(`log-level ${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(", ")}`);
  }
  const redis = get("redisUrl");
  const secret = get("webhookSecret");
  const trackingUriRaw = get("trackingUri");
  const trackingUri = trackingUriRaw === undefined ? undefined : asString(trackingUriRaw, "tracking-uri");
  if (trackingUri !== undefined && !/^https?:\/\//.test(trackingUri)) {
    throw new InvalidParameterError(`tracking-uri ${JSON.stringify(trackingUri)} must start with http:// or https://`);
  }
  const token = get("token");
  const grpcPort = get("grpcPort");
  return Object.freeze({
    dataDir,
    backendStoreUri,
    artifactRoot,
    s3: s3Settings(env, file),
    host: asString(get("host") ?? "127.0.0.1", "host"),
    port: asPort(get("port") ?? 5000, "port"),
    grpcPort: grpcPort === undefined ? undefined : asPort(grpcPort, "grpc-port"),
    authEnabled: asBool(get("authEnabled") ?? false, "auth"),
    probesRequireAuth: asBool(get("probesRequireAuth") ?? false, "probes-require-auth"),
    redisUrl: redis === undefined ? undefined : asString(redis, "redis-url"),
    webhookSecret: secret === undefined ? undefined : asString(secret, "webhook-secret"),
    trackingUri,
    token: token === undefined ? undefined : asString(token, "token"),
    logLevel: logLevel as KeelConfig["logLevel"],
  });
}

/** A directory (relative to `cwd`, or a `file://` URL) resolved to an absolute path, or an `s3://` URI as given. */
function artifactsDestination(value: string, cwd: string): string {
  if (value.startsWith("s3://")) return value;
  if (value.startsWith("file://")) return fileURLToPath(value);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new InvalidParameterError(
      `artifacts-destination ${JSON.stringify(value)} must be a directory or s3://bucket/prefix`,
      { details: { field: "artifactsDestination", value, rule: "a directory, file:// URL or s3://bucket/prefix" } },
    );
  }
  return path.resolve(cwd, value);
}

function s3Settings(env: Readonly<Record<string, string | undefined>>, file: Record<string, unknown>): S3Settings {
  const fromFile = (file.s3 ?? {}) as Record<string, unknown>;
  /** The first environment variable set, else the config file's key; and which one it was. */
  const get = (envNames: readonly string[], key: string): { value: unknown; source: string } => {
    for (const n of envNames) {
      const v = env[n];
      if (v !== undefined && v !== "") return { value: v, source: n };
    }
    return { value: fromFile[key], source: `config file s3.${key}` };
  };
  const str = (envNames: readonly string[], key: string) => {
    const { value, source } = get(envNames, key);
    return value === undefined ? undefined : asString(value, source);
  };
  const endpointFrom = get(["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"], "endpoint");
  const endpoint = str(["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"], "endpoint");
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new InvalidParameterError(
      `${endpointFrom.source} ${JSON.stringify(endpoint)} must start with http:// or https://`,
      { details: { field: "endpoint", value: endpoint, rule: "an http:// or https:// URL" } },
    );
  }
  const accessKeyId = str(["AWS_ACCESS_KEY_ID"], "accessKeyId");
  const secretAccessKey = str(["AWS_SECRET_ACCESS_KEY"], "secretAccessKey");
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new InvalidParameterError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together", {
      details: { field: accessKeyId === undefined ? "accessKeyId" : "secretAccessKey", value: undefined },
    });
  }
  const partSizeFrom = get(["KEEL_S3_PART_SIZE"], "partSize");
  const partSize = partSizeFrom.value === undefined ? undefined : Number(partSizeFrom.value);
  if (partSize !== undefined && (!Number.isSafeInteger(partSize) || partSize < 5 * 1024 * 1024)) {
    throw new InvalidParameterError(
      `${partSizeFrom.source} ${JSON.stringify(partSizeFrom.value)} must be an integer number of bytes, at least 5242880 (5 MiB)`,
      { details: { field: "partSize", value: partSizeFrom.value, rule: "integer >= 5242880" } },
    );
  }
  const pathStyle = get(["AWS_S3_FORCE_PATH_STYLE"], "forcePathStyle");
  return Object.freeze({
    endpoint,
    region: str(["AWS_REGION"], "region"),
    forcePathStyle: pathStyle.value === undefined ? false : asBool(pathStyle.value, pathStyle.source),
    accessKeyId,
    secretAccessKey,
    sessionToken: str(["AWS_SESSION_TOKEN"], "sessionToken"),
    partSize,
  });
}
