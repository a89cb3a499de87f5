import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisPredictionCache } from "../../src/serving/cache.js";
import { TEST_REDIS_URL } from "../services.js";

describe("RedisPredictionCache (real Redis at KEEL_TEST_REDIS_URL)", () => {
  const prefix = `keel-test:${process.pid}:${Date.now()}:`;
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  const cache = new RedisPredictionCache(redis, { ttlMs: 300, prefix });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await cache.close();
  });

  it("round-trips scores exactly, misses unknown keys, and expires on the TTL", async () => {
    const score = 0.1 + 0.2; // 0.30000000000000004: must come back bit-identical
    await cache.setMany([
      ["m@1|a", score],
      ["m@1|b", 1e-17],
    ]);
    expect(await cache.getMany(["m@1|a", "m@1|b", "m@1|zz"])).toEqual([score, 1e-17, undefined]);
    const ttl = await redis.pttl(`${prefix}m@1|a`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await new Promise((r) => setTimeout(r, 400));
    expect(await cache.getMany(["m@1|a"])).toEqual([undefined]);
  });
});
