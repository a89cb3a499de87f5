import { readFileSync } from "node:fs";
import type { KeelConfig } from "../config.js";
import { InvalidParameterError } from "../errors.js";
import { openStores } from "../open-stores.js";
import { parseChainKeyring } from "../store/index.js";
import type { ChainKeyring, ChainSealing } from "../store/index.js";

export type Stores = ReturnType<typeof openStores>;

/** The audit keyring of the config: the key file, else the inline keys, else none. */
export function chainKeyringOf(config: KeelConfig): ChainKeyring | undefined {
  if (config.auditKeyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.auditKeyFile, "utf8");
    } catch (cause) {
      throw new InvalidParameterError(`audit-key-file ${config.auditKeyFile}: cannot be read`, {
        cause,
        details: { field: "auditKeyFile", value: config.auditKeyFile },
      });
    }
    return parseChainKeyring(text, config.auditKeyFile);
  }
  return config.auditKeys === undefined ? undefined : parseChainKeyring(config.auditKeys, "KEEL_AUDIT_KEYS");
}

/** Opens the configured store, brings its schema up to date, runs `fn`, and always closes it. */
export async function withStores<T>(config: KeelConfig, fn: (stores: Stores) => Promise<T>): Promise<T> {
  const chainKeyring = chainKeyringOf(config);
  const stores = openStores({
    backendStoreUri: config.backendStoreUri,
    artifactRoot: config.artifactRoot,
    s3: config.s3,
    ...(config.webhookSecret === undefined ? {} : { webhookSecret: config.webhookSecret }),
    ...(chainKeyring === undefined ? {} : { chainKeyring }),
  });
  try {
    await stores.migrate();
    return await fn(stores);
  } finally {
    await stores.close();
  }
}

/** The chains of `stores` with the configured keyring and checkpoint directory (docs/audit.md). */
export function chainSealing(stores: Stores, config: KeelConfig): ChainSealing {
  return {
    audit: stores.audit,
    decisions: stores.decisions,
    keyring: stores.metadata.chainKeyring,
    checkpointDir: config.auditCheckpointDir,
  };
}
