import { describe, expect, it } from "vitest";
import { newRequestId } from "../../src/serving/request-id.js";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit timestamp of a UUIDv7, read from its first 12 hex digits. */
function timestampOf(id: string): number {
  return parseInt(id.replace(/-/g, "").slice(0, 12), 16);
}

describe("newRequestId (UUIDv7)", () => {
  it("is a version 7, variant 10 UUID carrying the given Unix millisecond", () => {
    const at = Date.UTC(2026, 11, 2, 4, 30, 0, 123);
    const id = newRequestId(at);
    expect(id).toMatch(V7);
    expect(timestampOf(id)).toBe(at);
    expect(new Date(timestampOf(newRequestId())).getUTCFullYear()).toBeGreaterThanOrEqual(2026);
  });

  it("sorts in the order the ids were made, within one millisecond and past the 12-bit counter", () => {
    const at = Date.UTC(2027, 0, 1);
    const ids = Array.from({ length: 10_000 }, () => newRequestId(at));
    for (const id of ids) expect(id).toMatch(V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // 10,000 ids cannot fit one millisecond's 4,096 counter values: later ones borrow the next ms.
    expect(timestampOf(ids[0] as string)).toBe(at);
    expect(timestampOf(ids[ids.length - 1] as string)).toBeGreaterThan(at);
    // A clock that steps back never reorders ids.
    const after = newRequestId(at - 5000);
    expect(after > (ids[ids.length - 1] as string)).toBe(true);
  });
});
