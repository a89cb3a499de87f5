import type { KeelConfig } from "../config.js";
import { openStores } from "../open-stores.js";

export type Stores = ReturnType<typeof openStores>;

/** Opens the configured store, brings its schema up to date, runs `fn`, and always closes it. */
export async function withStores<T>(config: KeelConfig, fn: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = openStores({
    backendStoreUri: config.backendStoreUri,
    artifactRoot: config.artifactRoot,
    s3: config.s3,
    ...(config.webhookSecret === undefined ? {} : { webhookSecret: config.webhookSecret }),
  });
  try {
    await stores.migrate();
    return await fn(stores);
  } finally {
    await stores.close();
  }
}
