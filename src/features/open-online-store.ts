import { createRedisOnlineStore } from "./online-redis.js";
import { createSqliteOnlineStore } from "./online-sqlite.js";
import type { OnlineStore } from "./online-store.js";

/** Redis when a URL is configured (shared by every replica), otherwise the embedded SQLite file. */
export function openOnlineStore(options: { redisUrl?: string | undefined; sqlitePath: string }): OnlineStore {
  return options.redisUrl !== undefined
    ? createRedisOnlineStore(options.redisUrl)
    : createSqliteOnlineStore(options.sqlitePath);
}
