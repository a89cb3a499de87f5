import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll } from "vitest";
import { createRedisOnlineStore } from "../../src/features/online-redis.js";
import { runOnlineStoreSuite } from "./online-store-suite.js";

// The machine's Redis, under a prefix of this run's own, removed at the end.
const REDIS_URL = "redis://127.0.0.1:6379";
const prefix = `keel-test:features:${randomUUID()}:`;
let n = 0;

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

runOnlineStoreSuite("Redis", () => createRedisOnlineStore(REDIS_URL, { prefix: `${prefix}${n++}:` }));
