import path from "node:path";
import { createRedisOnlineStore } from "./online-redis.js";
import { createSqliteOnlineStore } from "./online-sqlite.js";
import type { OnlineStore } from "./online-store.js";

/**
 * Redis when a URL is configured (shared by every replica), otherwise the embedded SQLite file
 * `<dataDir>/online-features.db`. The CLI and the server both open it here, so what `keel features
 * materialize` writes is what `keel server` reads.
 */
export function openOnlineStore(options: { redisUrl?: string | undefined; dataDir: string }): OnlineStore {
  return options.redisUrl !== undefined
    ? createRedisOnlineStore(options.redisUrl)
    : createSqliteOnlineStore(path.join(options.dataDir, "online-features.db"));
}
