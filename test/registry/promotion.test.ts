import { afterEach, describe, expect, it } from "vitest";
import { promoteAlias, rollbackAlias } from "../../src/registry/promotion.js";
import { postgresStores, sqliteStores, type MakeStores, type TestStores } from "../store/backends.js";
import { rejected } from "../keel-error.js";

const failure = (p: Promise<unknown>) => rejected(p);

for (const [backend, make] of [
  ["SQLite", sqliteStores],
  ["PostgreSQL", postgresStores],
] as [string, MakeStores][]) {
  describe(`promotion and rollback on ${backend}`, () => {
    let t: TestStores | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    async function threeVersions(): Promise<TestStores> {
      t = await make();
      for (let i = 1; i <= 3; i++) await t.stores.registry.createModelVersion({ name: "loans", source: `s3://m/${i}` });
      return t;
    }

    it("records approver, reason, before and after on the audit row of each move", async () => {
      const { stores } = await threeVersions();
      const r = stores.registry;
      const first = await promoteAlias(r, { name: "loans", version: "1", approver: "ana", reason: "initial model" });
      expect(first).toEqual({
        name: "loans",
        alias: "champion",
        fromVersion: null,
        toVersion: "1",
        actor: "ana",
        reason: "initial model",
      });
      await promoteAlias(r, { name: "loans", version: "3", approver: "bob", reason: "CHG-42: AUC +1.2%" });
      expect((await r.getVersionByAlias("loans", "champion")).version).toBe("3");

      const back = await rollbackAlias(r, { name: "loans", actor: "carol", reason: "complaints from underwriting" });
      expect([back.fromVersion, back.toVersion]).toEqual(["3", "1"]);
      expect((await r.getVersionByAlias("loans", "champion")).version).toBe("1");

      const rows = (await stores.audit.list({ targetType: "registered_model", targetId: "loans" })).filter((a) =>
        /promote|rollback/.test(a.action),
      );
      expect(rows.map((a) => [a.actor, a.action, a.before, a.after])).toEqual([
        [
          "ana",
          "registered_model.promote",
          { alias: "champion", version: null },
          { alias: "champion", version: "1", reason: "initial model" },
        ],
        [
          "bob",
          "registered_model.promote",
          { alias: "champion", version: "1" },
          { alias: "champion", version: "3", reason: "CHG-42: AUC +1.2%" },
        ],
        [
          "carol",
          "registered_model.rollback",
          { alias: "champion", version: "3" },
          { alias: "champion", version: "1", reason: "complaints from underwriting" },
        ],
      ]);
      expect((await stores.audit.verifyAuditChain()).ok).toBe(true);
      const history = await r.aliasHistory("loans", "champion");
      expect(history.map((h) => [h.version, h.userId])).toEqual([
        ["1", "carol"],
        ["3", "bob"],
        ["1", "ana"],
      ]);
    });

    it("rolls back past deleted versions and fails clearly when no other version remains", async () => {
      const { stores } = await threeVersions();
      const r = stores.registry;
      await promoteAlias(r, { name: "loans", version: "1", approver: "ana", reason: "a" });
      await promoteAlias(r, { name: "loans", version: "2", approver: "ana", reason: "b" });
      await promoteAlias(r, { name: "loans", version: "3", approver: "ana", reason: "c" });
      await r.deleteModelVersion("loans", "2");
      const back = await rollbackAlias(r, { name: "loans", actor: "ops" });
      expect(back.toVersion).toBe("1");
      expect(back.reason).toBe("rollback");
      await r.deleteModelVersion("loans", "3");
      const none = await failure(rollbackAlias(r, { name: "loans", actor: "ops" }));
      expect(none.code).toBe("INVALID_STATE");
      expect(none.message).toBe(
        'cannot roll back alias "champion" of "loans": it has pointed at no other registered version than version 1',
      );
    });

    it("refuses a rollback without history, a repeated promotion and bad input, changing nothing", async () => {
      const { stores } = await threeVersions();
      const r = stores.registry;
      const never = await failure(rollbackAlias(r, { name: "loans", actor: "ops" }));
      expect(never.code).toBe("INVALID_STATE");
      expect(never.message).toBe(
        'cannot roll back alias "champion" of "loans": it has pointed at no other registered version',
      );
      await promoteAlias(r, { name: "loans", version: "2", approver: "ana", reason: "ok" });
      const again = await failure(promoteAlias(r, { name: "loans", version: "2", approver: "ana", reason: "ok" }));
      expect(again.message).toBe('alias "champion" of "loans" already points at version 2');
      const noReason = await failure(promoteAlias(r, { name: "loans", version: "3", approver: "ana", reason: " " }));
      expect(noReason.code).toBe("INVALID_PARAMETER_VALUE");
      expect(noReason.details).toMatchObject({ field: "reason" });
      expect((await failure(promoteAlias(r, { name: "loans", version: "9", approver: "a", reason: "x" }))).code).toBe(
        "RESOURCE_DOES_NOT_EXIST",
      );
      expect((await failure(rollbackAlias(r, { name: "nope", actor: "a" }))).code).toBe("RESOURCE_DOES_NOT_EXIST");
      expect((await r.getVersionByAlias("loans", "champion")).version).toBe("2");
      expect((await r.aliasHistory("loans", "champion")).length).toBe(1);
    });

    it("rejects a move when the alias changed since the decision was made", async () => {
      const { stores } = await threeVersions();
      const r = stores.registry;
      await r.setAlias("loans", "champion", "1");
      const stale = await failure(
        r.setAlias(
          "loans",
          "champion",
          "3",
          { userId: "ana" },
          { action: "promote", reason: "x", expectedVersion: "2" },
        ),
      );
      expect(stale.code).toBe("INVALID_STATE");
      expect(stale.message).toBe(
        'alias "champion" of "loans" now points at version 1, not version 2: it moved meanwhile; retry',
      );
      expect((await r.getVersionByAlias("loans", "champion")).version).toBe("1");
      const actions = (await stores.audit.list({ targetId: "loans" })).map((a) => a.action);
      expect(actions.filter((a) => a === "registered_model.promote")).toEqual([]);
    });
  });
}
