import { afterEach, describe, expect, it } from "vitest";
import { verifyPassword } from "../../src/store/index.js";
import { steppingClock, type MakeStores, type TestStores } from "./backends.js";
import { rejected } from "../keel-error.js";

/** Users (scrypt-hashed passwords) and per-object permissions, run against every metadata backend. */
export function runUserStoreSuite(name: string, make: MakeStores): void {
  describe(`user store on ${name}`, () => {
    let open: TestStores | undefined;
    afterEach(async () => {
      await open?.close();
      open = undefined;
    });
    async function stores() {
      open = await make({ clock: steppingClock(1_717_200_000_000) });
      return open.stores;
    }

    it("keeps only a salted scrypt hash and authenticates by it", async () => {
      const s = await stores();
      await s.users.create({ username: "alice", password: "correct horse", role: "writer" });
      const row = await s.metadata.db.selectFrom("auth_users").selectAll().executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
      expect(row.password_hash).not.toContain("correct horse");
      expect(await verifyPassword("correct horse", row.password_hash)).toBe(true);
      expect(await verifyPassword("wrong horse", row.password_hash)).toBe(false);
      expect((await s.users.authenticate("alice", "correct horse"))?.role).toBe("writer");
      expect(await s.users.authenticate("alice", "wrong horse")).toBeUndefined();
      expect(await s.users.authenticate("nobody", "correct horse")).toBeUndefined();
      // Same password, another salt: another hash.
      await s.users.create({ username: "bob", password: "correct horse", role: "reader" });
      const hashes = await s.metadata.db.selectFrom("auth_users").select("password_hash").execute();
      expect(new Set(hashes.map((h) => h.password_hash)).size).toBe(2);
    });

    it("refuses bad usernames, short passwords, unknown roles and taken names", async () => {
      const s = await stores();
      expect(
        (await rejected(s.users.create({ username: "a:b", password: "long enough", role: "reader" }))).message,
      ).toBe("username = \"a:b\": must be 1 to 256 characters without ':'");
      expect((await rejected(s.users.create({ username: "a", password: "short", role: "reader" }))).message).toBe(
        "password must be at least 8 characters",
      );
      const role = await rejected(s.users.create({ username: "a", password: "long enough", role: "boss" as "reader" }));
      expect(role.code).toBe("INVALID_PARAMETER_VALUE");
      await s.users.create({ username: "a", password: "long enough", role: "reader" });
      expect((await rejected(s.users.create({ username: "a", password: "long enough", role: "reader" }))).code).toBe(
        "RESOURCE_ALREADY_EXISTS",
      );
    });

    it("a changed password replaces the old one; a deleted user takes their grants along", async () => {
      const s = await stores();
      await s.users.create({ username: "carol", password: "first-password", role: "reader" });
      expect(await s.users.authenticate("carol", "first-password")).toBeDefined();
      await s.users.updatePassword("carol", "second-password");
      expect(await s.users.authenticate("carol", "first-password")).toBeUndefined();
      expect(await s.users.authenticate("carol", "second-password")).toBeDefined();
      await s.users.createPermission({
        resource: "experiment",
        resourceId: "7",
        username: "carol",
        permission: "EDIT",
      });
      await s.users.delete("carol");
      expect(await s.users.listPermissions({ username: "carol" })).toEqual([]);
      expect((await rejected(s.users.get("carol"))).code).toBe("RESOURCE_DOES_NOT_EXIST");
    });

    it("grants: create once, read, update, delete; each step in the audit log", async () => {
      const s = await stores();
      await s.users.create({ username: "dan", password: "dan-password", role: "reader" });
      const g = {
        resource: "registered_model" as const,
        resourceId: "credit",
        username: "dan",
        permission: "READ" as const,
      };
      await s.users.createPermission(g);
      expect((await rejected(s.users.createPermission(g))).code).toBe("RESOURCE_ALREADY_EXISTS");
      await s.users.updatePermission({ ...g, permission: "MANAGE" });
      expect((await s.users.getPermission("registered_model", "credit", "dan")).permission).toBe("MANAGE");
      await s.users.deletePermission("registered_model", "credit", "dan");
      expect(await s.users.findPermission("registered_model", "credit", "dan")).toBeUndefined();
      expect((await rejected(s.users.updatePermission(g))).code).toBe("RESOURCE_DOES_NOT_EXIST");
      expect((await rejected(s.users.createPermission({ ...g, username: "ghost" }))).code).toBe(
        "RESOURCE_DOES_NOT_EXIST",
      );
      await s.users.createPermission({ ...g, permission: "EDIT" });
      await s.users.renamePermissionTarget("registered_model", "credit", "credit-v2");
      expect(await s.users.findPermission("registered_model", "credit", "dan")).toBeUndefined();
      expect((await s.users.getPermission("registered_model", "credit-v2", "dan")).permission).toBe("EDIT");
      const actions = (await s.audit.list({})).map((e) => e.action);
      expect(actions).toEqual([
        "user.create",
        "permission.create",
        "permission.update",
        "permission.delete",
        "permission.create",
        "permission.rename_target",
      ]);
    });
  });
}
