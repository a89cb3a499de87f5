import { describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import {
  InvalidParameterError,
  KeelError,
  NotFoundError,
  PermissionError,
  UnavailableError,
} from "../../src/errors.js";
import { rejected } from "../keel-error.js";

function answering(status: number, body: string): KeelClient {
  return new KeelClient({ baseUrl: "http://keel.test", fetch: () => Promise.resolve(new Response(body, { status })) });
}

describe("KeelClient errors", () => {
  it("rebuilds the server's error as the subclass of its code, with message and details", async () => {
    const body = { error_code: "RESOURCE_DOES_NOT_EXIST", message: "run r1 does not exist", details: { run_id: "r1" } };
    const e = await rejected(answering(404, JSON.stringify(body)).getRun("r1"), NotFoundError);
    expect([e.code, e.message, e.details]).toEqual([
      "RESOURCE_DOES_NOT_EXIST",
      "run r1 does not exist",
      { run_id: "r1" },
    ]);

    const bad = { error_code: "INVALID_PARAMETER_VALUE", message: 'max_results "ten" must be an integer' };
    await rejected(answering(400, JSON.stringify(bad)).getRun("r1"), InvalidParameterError);
    const denied = { error_code: "PERMISSION_DENIED", message: "needs approver" };
    await rejected(answering(403, JSON.stringify(denied)).getRun("r1"), PermissionError);
  });

  it("reads a body without a known code by its status", async () => {
    const e = await rejected(answering(404, "<html>not here</html>").getRun("r1"), NotFoundError);
    expect(e.message).toBe("<html>not here</html>");
    const internal = await rejected(answering(502, "").getRun("r1"));
    expect([internal.constructor, internal.code, internal.message]).toEqual([KeelError, "INTERNAL_ERROR", "HTTP 502"]);
  });

  it("answers an unreachable server with TEMPORARILY_UNAVAILABLE", async () => {
    const client = new KeelClient({
      baseUrl: "http://keel.test/",
      fetch: () => Promise.reject(new Error("ECONNREFUSED")),
    });
    const e = await rejected(client.getRun("r1"), UnavailableError);
    expect(e.message).toBe("cannot reach http://keel.test: ECONNREFUSED");
  });
});
