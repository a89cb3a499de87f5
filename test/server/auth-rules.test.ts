import { describe, expect, it } from "vitest";
import type { KeelError } from "../../src/errors.js";
import {
  aliasNeedsApprover,
  bearerToken,
  defaultRole,
  parseRole,
  roleAtLeast,
  stageNeedsApprover,
} from "../../src/server/auth.js";

describe("auth rules", () => {
  it("orders roles reader < writer < approver < admin", () => {
    expect(roleAtLeast("admin", "approver")).toBe(true);
    expect(roleAtLeast("approver", "approver")).toBe(true);
    expect(roleAtLeast("writer", "approver")).toBe(false);
    expect(roleAtLeast("reader", "writer")).toBe(false);
  });

  it("puts reviewer on a branch of its own: reader < reviewer < admin, apart from writer and approver", () => {
    expect(roleAtLeast("reviewer", "reader")).toBe(true);
    expect(roleAtLeast("reviewer", "reviewer")).toBe(true);
    expect(roleAtLeast("admin", "reviewer")).toBe(true);
    expect(roleAtLeast("reviewer", "writer")).toBe(false);
    expect(roleAtLeast("writer", "reviewer")).toBe(false);
    expect(roleAtLeast("approver", "reviewer")).toBe(false);
  });

  it("needs reader to read and writer to change anything", () => {
    expect(defaultRole("GET")).toBe("reader");
    expect(defaultRole("HEAD")).toBe("reader");
    expect(defaultRole("POST")).toBe("writer");
    expect(defaultRole("PATCH")).toBe("writer");
    expect(defaultRole("DELETE")).toBe("writer");
  });

  it("asks an approver for stage Production and alias champion, in any case", () => {
    expect(stageNeedsApprover("Production")).toBe(true);
    expect(stageNeedsApprover("production")).toBe(true);
    expect(stageNeedsApprover("Staging")).toBe(false);
    expect(aliasNeedsApprover("champion")).toBe(true);
    expect(aliasNeedsApprover("Champion")).toBe(true);
    expect(aliasNeedsApprover("challenger")).toBe(false);
  });

  it("parses the Authorization header and explains what is wrong with it", () => {
    expect(bearerToken("Bearer abc123")).toBe("abc123");
    expect(bearerToken("bearer abc123")).toBe("abc123");
    expect(() => bearerToken(undefined)).toThrow(/Authorization: Bearer <token>/);
    const e = (() => {
      try {
        bearerToken("Basic dXNlcjpwYXNz");
      } catch (err) {
        return err as KeelError;
      }
      throw new Error("expected a refusal");
    })();
    expect(e.code).toBe("UNAUTHENTICATED");
    expect(e.status).toBe(401);
  });

  it("refuses an unknown role naming the allowed ones", () => {
    expect(parseRole("approver")).toBe("approver");
    expect(() => parseRole("owner")).toThrow(
      'role = "owner": must be one of reader, predictor, writer, reviewer, approver, admin',
    );
  });
});
