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

  it("answers each code with its HTTP status", () => {
    // Written out here rather than read from the catalog, so a changed status in it fails this test.
    const statuses = Object.fromEntries(
      (Object.keys(ERROR_CATALOG) as ErrorCode[]).map((code) => [code, keelErrorOf(code, "m").status]),
    );
    expect(statuses).toEqual({
      INVALID_PARAMETER_VALUE: 400,
      RESOURCE_DOES_NOT_EXIST: 404,
      RESOURCE_ALREADY_EXISTS: 400,
      ENDPOINT_NOT_FOUND: 404,
      INVALID_STATE: 400,
      UNAUTHENTICATED: 401,
      PERMISSION_DENIED: 403,
      DATA_LOSS: 500,
      TEMPORARILY_UNAVAILABLE: 503,
      INTERNAL_ERROR: 500,
    });
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
