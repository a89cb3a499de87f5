import { Redis } from "ioredis";
import { UnavailableError } from "../errors.js";
import type { FeatureValue, OnlineRow, OnlineStore, StoredOnlineRow } from "./online-store.js";

/** Rows written per MULTI/EXEC: each batch commits atomically. */
const BATCH = 1000;

/** Sets KEYS[1] to "eventTime|values" unless the stored row is newer. */
const SET_IF_NOT_NEWER = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local t = tonumber(string.match(cur, '^(%-?%d+)|'))
  if t ~= nil and t > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2])
return 1`;

type RedisWithScript = Redis & {
  keelSetFeatureRow(key: string, eventTime: string, values: string): Promise<number>;
};

function parse(raw: string | null): StoredOnlineRow | undefined {
  if (raw === null) return undefined;
  const bar = raw.indexOf("|");
  return {
    eventTime: Number(raw.slice(0, bar)),
    values: JSON.parse(raw.slice(bar + 1)) as Record<string, FeatureValue>,
  };
}

/**
 * The online store on Redis: one string per (feature view, entity), `eventTime|json`, read with
 * MGET; `prefix` keeps keel's keys (and one test's from another's) apart.
 */
export function createRedisOnlineStore(url: string, options: { prefix?: string } = {}): OnlineStore {
  const prefix = options.prefix ?? "keel:features:";
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 }) as RedisWithScript;
  redis.defineCommand("keelSetFeatureRow", { numberOfKeys: 1, lua: SET_IF_NOT_NEWER });
  const key = (view: string, entity: string) => `${prefix}${view}:${entity}`;
  // Connection errors reach the commands that fail; unheard, ioredis would print each retry.
  redis.on("error", () => undefined);
  const where = withoutPassword(url);
  const reachable = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new UnavailableError(`online store ${where} is unavailable: ${reason}`, { cause });
    }
  };

  async function flush(view: string, rows: readonly OnlineRow[]): Promise<void> {
    const multi = redis.multi() as unknown as RedisWithScript & { exec(): Promise<[Error | null, unknown][] | null> };
    for (const r of rows)
      void multi.keelSetFeatureRow(key(view, r.entityKey), String(r.eventTime), JSON.stringify(r.values));
    const results = await multi.exec();
    const failed = results?.find(([err]) => err !== null);
    if (failed !== undefined) throw failed[0] as Error;
  }

  return {
    async write(view, batches) {
      let n = 0;
      for await (const batch of batches) {
        for (let i = 0; i < batch.length; i += BATCH) await reachable(() => flush(view, batch.slice(i, i + BATCH)));
        n += batch.length;
      }
      return n;
    },
    async read(view, keys) {
      if (keys.length === 0) return [];
      const raw = await reachable(() => redis.mget(keys.map((k) => key(view, k))));
      return raw.map(parse);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The Redis URL as errors may show it: no password. */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "redis";
  }
}
