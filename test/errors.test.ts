import { describe, expect, it } from "vitest";
import {
  ERROR_CATALOG,
  InvalidParameterError,
  KeelError,
  NotFoundError,
  isKeelError,
  keelErrorOf,
  type ErrorCode,
} from "../src/errors.js";

describe("error catalog", () => {
  it("rebuilds each code as its own subclass, with the code's status", () => {
    for (const code of Object.keys(ERROR_CATALOG) as ErrorCode[]) {
      const e = keelErrorOf(code, "m", { details: { field: "f" } });
      expect(e).toBeInstanceOf(KeelError);
      expect([e.code, e.status, e.message, e.details]).toEqual([code, ERROR_CATALOG[code].status, "m", { field: "f" }]);
      if (code !== "INTERNAL_ERROR") expect(e.constructor).not.toBe(KeelError);
    }
    expect(keelErrorOf("RESOURCE_DOES_NOT_EXIST", "gone")).toBeInstanceOf(NotFoundError);
    expect(keelErrorOf("INVALID_PARAMETER_VALUE", "bad")).toBeInstanceOf(InvalidParameterError);
    expect(keelErrorOf("INTERNAL_ERROR", "bug").constructor).toBe(KeelError);
  });

  it("recognises another copy's errors by their registry-symbol brand, and nothing else", () => {
    // What a second copy of the package defines: its own class, the same Symbol.for brand.
    class OtherCopyError extends Error {
      readonly code = "RESOURCE_DOES_NOT_EXIST";
      readonly status = 404;
      get [Symbol.for("keel.error")](): true {
        return true;
      }
    }
    const foreign = new OtherCopyError("run r1 does not exist");
    expect(foreign).not.toBeInstanceOf(KeelError);
    expect(isKeelError(foreign)).toBe(true);
    expect(isKeelError(new NotFoundError("x"))).toBe(true);
    expect(isKeelError(Object.assign(new Error("x"), { code: "RESOURCE_DOES_NOT_EXIST" }))).toBe(false);
    expect(isKeelError({ [Symbol("keel.error")]: true })).toBe(false);
    expect(isKeelError(null)).toBe(false);
  });
});
