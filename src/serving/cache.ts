import type { Redis } from "ioredis";
import type { Frame } from "../data/index.js";
import type { Clock } from "../runtime/index.js";

/**
 * Prediction cache: one score per (model version, canonical input row). The in-process LRU with a
 * TTL is the default; `RedisPredictionCache` shares entries between serving replicas.
 */
export interface PredictionCache {
  /** One entry per key: the cached score or undefined. */
  getMany(keys: readonly string[]): Promise<(number | undefined)[]>;
  /** Store scores; `ttlMs` overrides the cache's default time to live. */
  setMany(entries: readonly (readonly [string, number])[], ttlMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Canonical key of each row: model name and version, then the row's values in signature order.
 * Built from the validated frame, so `{"a":1,"b":2}` and `{"b":2,"a":1.0}` share an entry.
 */
export function rowCacheKeys(modelName: string, modelVersion: string, frame: Frame): string[] {
  const prefix = `${modelName.length}:${modelName}@${modelVersion}|`;
  const keys = new Array<string>(frame.nRows);
  for (let i = 0; i < frame.nRows; i++) {
    let k = prefix;
    for (const c of frame.columns) {
      if (c.valid !== undefined && c.valid[i] === 0) k += "\u0000;";
      else if (c.kind === "numeric") k += `${c.values[i] as number};`;
      else k += `${JSON.stringify(c.dictionary[c.codes[i] as number])};`;
    }
    keys[i] = k;
  }
  return keys;
}

export class LruTtlCache implements PredictionCache {
  // Map keeps insertion order: re-inserting on hit makes the first key the least recently used.
  private readonly entries = new Map<string, { score: number; expiresAt: number }>();

  constructor(private readonly options: { maxEntries: number; ttlMs: number; now: Clock }) {}

  getMany(keys: readonly string[]): Promise<(number | undefined)[]> {
    const now = this.options.now();
    return Promise.resolve(
      keys.map((k) => {
        const e = this.entries.get(k);
        if (e === undefined) return undefined;
        this.entries.delete(k);
        if (e.expiresAt <= now) return undefined;
        this.entries.set(k, e);
        return e.score;
      }),
    );
  }

  setMany(entries: readonly (readonly [string, number])[], ttlMs?: number): Promise<void> {
    const expiresAt = this.options.now() + (ttlMs ?? this.options.ttlMs);
    for (const [k, score] of entries) {
      this.entries.delete(k);
      this.entries.set(k, { score, expiresAt });
      if (this.entries.size > this.options.maxEntries) {
        const oldest = this.entries.keys().next();
        if (oldest.done !== true) this.entries.delete(oldest.value);
      }
    }
    return Promise.resolve();
  }

  get size(): number {
    return this.entries.size;
  }

  close(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }
}

/** Redis-backed cache (MGET, and SET … PX in one pipeline); the key prefix keeps keel's keys apart. */
export class RedisPredictionCache implements PredictionCache {
  constructor(
    private readonly redis: Redis,
    private readonly options: { ttlMs: number; prefix?: string },
  ) {}

  private key(k: string): string {
    return `${this.options.prefix ?? "keel:pred:"}${k}`;
  }

  async getMany(keys: readonly string[]): Promise<(number | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.redis.mget(keys.map((k) => this.key(k)));
    return values.map((v) => (v === null ? undefined : Number(v)));
  }

  async setMany(entries: readonly (readonly [string, number])[], ttlMs?: number): Promise<void> {
    if (entries.length === 0) return;
    const px = Math.max(1, Math.round(ttlMs ?? this.options.ttlMs));
    const p = this.redis.pipeline();
    // String(x) round-trips a double exactly in JS.
    for (const [k, score] of entries) p.set(this.key(k), String(score), "PX", px);
    await p.exec();
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
