import { readFileSync } from "node:fs";
import path from "node:path";
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
  /** Directory of the content-addressed artifact store. */
  readonly artifactRoot: string;
  readonly host: string;
  readonly port: number;
  /** Bearer-token auth; off by default. */
  readonly authEnabled: boolean;
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
  /** File holding the audit keyring (JSON, docs/audit.md) that seals the chains; kept outside the database. */
  readonly auditKeyFile: string | undefined;
  /** The audit keyring given inline (JSON), e.g. from a secret manager through the environment. */
  readonly auditKeys: string | undefined;
  /** Directory of the signed chain checkpoints; default `<dataDir>/audit-checkpoints`. */
  readonly auditCheckpointDir: string;
  /** Seconds between the server's scheduled checkpoints (with a keyring); 0 turns the schedule off. */
  readonly auditCheckpointInterval: number;
}

export interface ConfigSources {
  flags?: Partial<Record<keyof KeelConfig | "configFile", string | number | boolean | undefined>>;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

const ENV_NAMES: Record<keyof KeelConfig, string> = {
  dataDir: "KEEL_DATA_DIR",
  backendStoreUri: "KEEL_BACKEND_STORE_URI",
  artifactRoot: "KEEL_ARTIFACT_ROOT",
  host: "KEEL_HOST",
  port: "KEEL_PORT",
  authEnabled: "KEEL_AUTH",
  redisUrl: "KEEL_REDIS_URL",
  webhookSecret: "KEEL_WEBHOOK_SECRET",
  trackingUri: "KEEL_TRACKING_URI",
  token: "KEEL_TOKEN",
  logLevel: "KEEL_LOG_LEVEL",
  auditKeyFile: "KEEL_AUDIT_KEY_FILE",
  auditKeys: "KEEL_AUDIT_KEYS",
  auditCheckpointDir: "KEEL_AUDIT_CHECKPOINT_DIR",
  auditCheckpointInterval: "KEEL_AUDIT_CHECKPOINT_INTERVAL",
};

const LOG_LEVELS = ["silent", "error", "warn", "info", "debug"] as const;

function pick(
  key: keyof KeelConfig,
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
  const get = (k: keyof KeelConfig) => pick(k, sources.flags, env, file);

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
  const artifactRoot = path.resolve(
    cwd,
    asString(get("artifactRoot") ?? path.join(dataDir, "artifacts"), "artifact-root"),
  );
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
  const keyFile = get("auditKeyFile");
  const keys = get("auditKeys");
  const interval = Number(get("auditCheckpointInterval") ?? 300);
  if (!Number.isInteger(interval) || interval < 0 || interval > 86_400) {
    throw new InvalidParameterError(
      `audit-checkpoint-interval ${JSON.stringify(get("auditCheckpointInterval"))} must be an integer number of seconds from 0 to 86400`,
    );
  }
  return Object.freeze({
    dataDir,
    backendStoreUri,
    artifactRoot,
    host: asString(get("host") ?? "127.0.0.1", "host"),
    port: asPort(get("port") ?? 5000, "port"),
    authEnabled: asBool(get("authEnabled") ?? false, "auth"),
    redisUrl: redis === undefined ? undefined : asString(redis, "redis-url"),
    webhookSecret: secret === undefined ? undefined : asString(secret, "webhook-secret"),
    trackingUri,
    token: token === undefined ? undefined : asString(token, "token"),
    logLevel: logLevel as KeelConfig["logLevel"],
    auditKeyFile: keyFile === undefined ? undefined : path.resolve(cwd, asString(keyFile, "audit-key-file")),
    // An object in the config file is the keyring itself.
    auditKeys:
      keys === undefined ? undefined : typeof keys === "object" ? JSON.stringify(keys) : asString(keys, "audit-keys"),
    auditCheckpointDir: path.resolve(
      cwd,
      asString(get("auditCheckpointDir") ?? path.join(dataDir, "audit-checkpoints"), "audit-checkpoint-dir"),
    ),
    auditCheckpointInterval: interval,
  });
}
