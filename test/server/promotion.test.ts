import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import { http, startTestServer } from "./helpers.js";
import type { TestServer } from "./helpers.js";
import { rejected } from "../keel-error.js";

const refusal = (p: Promise<unknown>) => rejected(p);

describe("promotion and rollback over HTTP with auth on", () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  const as = (role: string) => new KeelClient({ baseUrl: server.url, token: tokens[role]! });

  beforeAll(async () => {
    server = await startTestServer({ auth: true });
    for (const role of ["reader", "writer", "approver", "admin"] as const) {
      tokens[role] = (await server.stores.tokens.create({ name: `${role}-token`, role })).token;
    }
    for (let i = 1; i <= 3; i++) await server.stores.registry.createModelVersion({ name: "loans", source: `m/${i}` });
  });
  afterAll(async () => {
    await server.close();
  });

  it("refuses readers and writers with 403 and moves nothing", async () => {
    for (const role of ["reader", "writer"]) {
      const e = await refusal(as(role).promoteModel("loans", { version: "1", reason: "x" }));
      expect(e.status).toBe(403);
      expect(e.message).toBe(
        `POST /api/keel/models/loans/promote requires role approver; token '${role}-token' has role ${role}`,
      );
      expect((await refusal(as(role).rollbackModel("loans"))).status).toBe(403);
    }
    const anonymous = await http(`${server.url}/api/keel/models/loans/promote`, "POST", '{"version":"1","reason":"x"}');
    expect(anonymous.status).toBe(401);
    expect((await server.stores.registry.getRegisteredModel("loans")).aliases).toEqual([]);
  });

  it("lets an approver promote and roll back; the audit log names the approver and the reason", async () => {
    const approver = as("approver");
    const first = await approver.promoteModel("loans", { version: "1", to: "champion", reason: "first model" });
    expect(first).toMatchObject({
      name: "loans",
      alias: "champion",
      from_version: null,
      to_version: "1",
      actor: "approver-token",
      reason: "first model",
    });
    expect(first.model_version.aliases).toEqual(["champion"]);
    const second = await as("admin").promoteModel("loans", { version: "3", reason: "CHG-7 beats v1 by 1.1% AUC" });
    expect([second.from_version, second.to_version, second.actor]).toEqual(["1", "3", "admin-token"]);

    const back = await approver.rollbackModel("loans", { reason: "FNR up on segment north" });
    expect([back.from_version, back.to_version, back.actor]).toEqual(["3", "1", "approver-token"]);
    expect((await approver.getModelVersionByAlias("loans", "champion")).version).toBe("1");

    const rows = (await server.stores.audit.list({ targetId: "loans" })).filter(
      (r) => r.action === "registered_model.promote" || r.action === "registered_model.rollback",
    );
    expect(rows.map((r) => [r.actor, r.action, r.before, r.after])).toEqual([
      [
        "approver-token",
        "registered_model.promote",
        { alias: "champion", version: null },
        { alias: "champion", version: "1", reason: "first model" },
      ],
      [
        "admin-token",
        "registered_model.promote",
        { alias: "champion", version: "1" },
        { alias: "champion", version: "3", reason: "CHG-7 beats v1 by 1.1% AUC" },
      ],
      [
        "approver-token",
        "registered_model.rollback",
        { alias: "champion", version: "3" },
        { alias: "champion", version: "1", reason: "FNR up on segment north" },
      ],
    ]);
  });

  it("answers bad requests with 4xx JSON naming the problem", async () => {
    const approver = as("approver");
    const noReason = await http(`${server.url}/api/keel/models/loans/promote`, "POST", '{"version":"2"}', {
      authorization: `Bearer ${tokens.approver!}`,
    });
    expect(noReason.status).toBe(400);
    expect(noReason.json).toMatchObject({
      error_code: "INVALID_PARAMETER_VALUE",
      message: "Missing value for required parameter 'reason'",
    });
    const impostor = await refusal(approver.promoteModel("loans", { version: "2", reason: "x", approver: "ceo" }));
    expect(impostor.status).toBe(400);
    expect(impostor.message).toBe(
      'approver "ceo" does not match the caller: with auth on, the approver is the token\'s name ("approver-token")',
    );
    const missing = await refusal(approver.promoteModel("loans", { version: "12", reason: "x" }));
    expect(missing.status).toBe(404);
    const noModel = await refusal(approver.rollbackModel("fraud"));
    expect(noModel.status).toBe(404);
    const badAlias = await refusal(approver.promoteModel("loans", { version: "2", to: "v2", reason: "x" }));
    expect(badAlias.status).toBe(400);
    expect(badAlias.details).toMatchObject({ field: "alias" });
  });

  it("answers a rollback with nothing to go back to with 400 INVALID_STATE", async () => {
    await server.stores.registry.createModelVersion({ name: "fresh", source: "m/1" });
    const approver = as("approver");
    const none = await refusal(approver.rollbackModel("fresh"));
    expect([none.status, none.code]).toEqual([400, "INVALID_STATE"]);
    expect(none.message).toBe(
      'cannot roll back alias "champion" of "fresh": it has pointed at no other registered version',
    );
    await approver.promoteModel("fresh", { version: "1", reason: "only one" });
    const single = await refusal(approver.rollbackModel("fresh"));
    expect(single.message).toBe(
      'cannot roll back alias "champion" of "fresh": it has pointed at no other registered version than version 1',
    );
  });
});

describe("promotion with auth off", () => {
  it("takes the approver from the request body", async () => {
    const server = await startTestServer();
    try {
      await server.stores.registry.createModelVersion({ name: "churn", source: "m/1" });
      const move = await server.client.promoteModel("churn", { version: "1", reason: "ok", approver: "dana" });
      expect(move.actor).toBe("dana");
      const rows = await server.stores.audit.list({ targetId: "churn" });
      expect(rows.at(-1)).toMatchObject({ actor: "dana", action: "registered_model.promote" });
    } finally {
      await server.close();
    }
  });
});
