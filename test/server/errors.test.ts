import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "../../src/errors.js";
import { errorBody, toKeelError } from "../../src/server/errors.js";

describe("error mapping", () => {
  it("passes keel's errors through with the catalog's status and MLflow's body", () => {
    const { error, status } = toKeelError(new NotFoundError("run 'x' does not exist"));
    expect(status).toBe(404);
    expect(errorBody(error)).toEqual({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "run 'x' does not exist" });
    const conflict = toKeelError(new ConflictError("taken", { details: { field: "name" } }));
    expect(conflict.status).toBe(400);
    expect(errorBody(conflict.error)).toEqual({
      error_code: "RESOURCE_ALREADY_EXISTS",
      message: "taken",
      details: { field: "name" },
    });
  });

  it("turns Fastify's client errors into 4xx INVALID_PARAMETER_VALUE, never 500", () => {
    const tooLarge = Object.assign(new Error("Request body is too large"), {
      code: "FST_ERR_CTP_BODY_TOO_LARGE",
      statusCode: 413,
    });
    const mapped = toKeelError(tooLarge);
    expect(mapped.status).toBe(413);
    expect(mapped.error.code).toBe("INVALID_PARAMETER_VALUE");
    const badJson = Object.assign(new SyntaxError("Unexpected token n in JSON"), {
      code: "FST_ERR_CTP_INVALID_JSON_BODY",
      statusCode: 400,
    });
    expect(toKeelError(badJson).error.message).toBe("request body: not valid JSON (Unexpected token n in JSON)");
  });

  it("hides anything else behind a generic 500 INTERNAL_ERROR", () => {
    const { error, status } = toKeelError(new TypeError("cannot read properties of undefined"));
    expect(status).toBe(500);
    expect(errorBody(error)).toEqual({ error_code: "INTERNAL_ERROR", message: "internal server error" });
  });
});
