import { describe, expect, it } from "vitest";
import { deferred } from "../../src/runtime/index.js";

describe("deferred", () => {
  it("settles its promise from outside, once: the first resolve or reject wins", async () => {
    const ok = deferred<number>();
    ok.resolve(7);
    ok.reject(new Error("too late"));
    await expect(ok.promise).resolves.toBe(7);
    const failed = deferred();
    failed.reject(new Error("write failed"));
    failed.resolve();
    await expect(failed.promise).rejects.toThrow("write failed");
  });
});
