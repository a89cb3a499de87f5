import { randomFillSync } from "node:crypto";

/**
 * Request ids keel assigns when a client sends none: UUID version 7 (RFC 9562 §5.7), a 48-bit
 * Unix-millisecond timestamp, then a 12-bit counter (§6.2 method 1) and 62 random bits. Ids made
 * by one process sort in the order they were made, so the inference log's request-id index grows
 * at its right edge; random (v4) ids land on a random index page each, and on SQLite that cost
 * the log's writer about three times the CPU per record.
 */
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const pool = new Uint8Array(16 * 256);
let poolOffset = pool.length;
let lastMs = -1;
let counter = 0;

export function newRequestId(now: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 10;
  let ms = now;
  if (ms > lastMs) {
    lastMs = ms;
    // Start each millisecond's counter at a random value below 2^11, leaving room to count up.
    counter = ((pool[r] as number) << 3) | ((pool[r + 1] as number) & 0x07);
  } else {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      // The counter is spent: borrow the next millisecond, as §6.2 allows, keeping ids ordered.
      lastMs = ms = lastMs + 1;
      counter = 0;
    }
  }
  const hi = Math.floor(ms / 0x1000000);
  const lo = ms % 0x1000000;
  return (
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    HEX[(lo >>> 16) & 0xff]! +
    "-" +
    HEX[(lo >>> 8) & 0xff]! +
    HEX[lo & 0xff]! +
    "-" +
    HEX[0x70 | (counter >>> 8)]! +
    HEX[counter & 0xff]! +
    "-" +
    HEX[0x80 | ((pool[r + 2] as number) & 0x3f)]! +
    HEX[pool[r + 3] as number]! +
    "-" +
    HEX[pool[r + 4] as number]! +
    HEX[pool[r + 5] as number]! +
    HEX[pool[r + 6] as number]! +
    HEX[pool[r + 7] as number]! +
    HEX[pool[r + 8] as number]! +
    HEX[pool[r + 9] as number]!
  );
}
