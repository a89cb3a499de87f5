import { describe, expect, it } from "vitest";
import { defaultPermission, permissionAllows } from "../../src/server/object-permissions.js";
import { basicCredentials, isProbePath } from "../../src/server/password-auth.js";
import { rejected } from "../keel-error.js";

describe("MLflow's permission levels (mlflow/server/auth/permissions.py)", () => {
  it("READ reads; EDIT also updates; MANAGE also deletes and manages; NO_PERMISSIONS nothing", () => {
    const table = Object.fromEntries(
      (["NO_PERMISSIONS", "READ", "EDIT", "MANAGE"] as const).map((p) => [
        p,
        (["read", "update", "delete", "manage"] as const).filter((a) => permissionAllows(p, a)),
      ]),
    );
    expect(table).toEqual({
      NO_PERMISSIONS: [],
      READ: ["read"],
      EDIT: ["read", "update"],
      MANAGE: ["read", "update", "delete", "manage"],
    });
  });

  it("without a grant, access follows the keel role", () => {
    expect(
      Object.fromEntries(
        (["reader", "reviewer", "writer", "approver", "admin"] as const).map((r) => [r, defaultPermission(r)]),
      ),
    ).toEqual({
      reader: "READ",
      reviewer: "READ",
      writer: "EDIT",
      approver: "EDIT",
      admin: "MANAGE",
    });
  });
});

describe("HTTP Basic and probes", () => {
  it("decodes user:password, keeping colons in the password", () => {
    const header = `Basic ${Buffer.from("alice:pa:ss word").toString("base64")}`;
    expect(basicCredentials(header)).toEqual({ username: "alice", password: "pa:ss word" });
  });

  it("refuses a header without a username or a colon", async () => {
    for (const bad of [
      "Basic",
      `Basic ${Buffer.from(":nouser").toString("base64")}`,
      `Basic ${Buffer.from("nocolon").toString("base64")}`,
    ]) {
      const e = await rejected(Promise.resolve().then(() => basicCredentials(bad)));
      expect({ bad, code: e.code }).toEqual({ bad, code: "UNAUTHENTICATED" });
    }
  });

  it("knows the probe paths and nothing that merely starts like one", () => {
    for (const p of [
      "/ping",
      "/health",
      "/version",
      "/metrics",
      "/v2/health/live",
      "/v2/health/ready?x=1",
      "/v2/models/credit/ready",
      "/v2/models/credit/versions/3/ready",
    ]) {
      expect({ p, probe: isProbePath(p) }).toEqual({ p, probe: true });
    }
    for (const p of [
      "/pings",
      "/v2/models/credit/infer",
      "/v2/models/credit/ready/x",
      "/api/2.0/mlflow/health",
      "/metrics/x",
    ]) {
      expect({ p, probe: isProbePath(p) }).toEqual({ p, probe: false });
    }
  });
});
