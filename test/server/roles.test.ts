import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import { parseRoles, SERVER_ROLES } from "../../src/server/index.js";

describe("server roles", () => {
  it("reads a comma-separated list in the canonical order, each once; none given is every role", () => {
    expect(parseRoles(undefined)).toEqual(SERVER_ROLES);
    expect(parseRoles("scheduler, serving,serving")).toEqual(["serving", "scheduler"]);
    expect(parseRoles("api")).toEqual(["api"]);
  });

  it("refuses an unknown role, naming the value and the rule", () => {
    expect(() => parseRoles("serving,web")).toThrow(InvalidParameterError);
    expect(() => parseRoles("serving,web")).toThrow(
      'roles = "serving,web": "web" is not a role; must be a comma-separated list of api, serving, scheduler',
    );
    expect(() => parseRoles("")).toThrow('"" is not a role');
  });
});
