import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../src/errors.js";
import { createEndpointStore } from "../../src/store/serving-endpoints.js";
import { postgresStores, sqliteStores, steppingClock, type MakeStores } from "./backends.js";

function suite(name: string, make: MakeStores) {
  describe(`serving endpoint store on ${name}`, () => {
    it("keeps endpoint documents across reopen, replaces them in place, and audits every change", async () => {
      const t = await make();
      try {
        const clock = steppingClock(1_000);
        const store = createEndpointStore(t.stores.metadata, { clock });
        const doc = { model: "loans", shadows: [{ version: "2" }], decision: { threshold: 0.35 } };
        const first = await store.put({ name: "loans-a", model: "loans", document: doc }, "ana");
        expect(first).toEqual({ name: "loans-a", model: "loans", document: doc, createdAt: 1_000, updatedAt: 1_000 });
        await store.put({ name: "credit", model: "credit", document: { model: "credit" } });
        const doc2 = { model: "loans", canary: { version: "3" } };
        const second = await store.put({ name: "loans-a", model: "loans", document: doc2 }, "bo");
        expect(second.createdAt).toBe(1_000);
        expect(second.updatedAt).toBeGreaterThan(1_000);

        // a second store over the same database (a restart, another replica) sees the same rows
        const other = createEndpointStore(t.stores.metadata);
        expect((await other.list()).map((e) => [e.name, e.document])).toEqual([
          ["credit", { model: "credit" }],
          ["loans-a", doc2],
        ]);

        await store.delete("credit", "ana");
        await expect(store.delete("credit")).rejects.toBeInstanceOf(NotFoundError);
        expect((await other.list()).map((e) => e.name)).toEqual(["loans-a"]);

        const audit = await t.stores.audit.list({ targetType: "serving_endpoint" });
        expect(audit.map((a) => [a.action, a.targetId, a.actor])).toEqual([
          ["serving_endpoint.put", "loans-a", "ana"],
          ["serving_endpoint.put", "credit", "anonymous"],
          ["serving_endpoint.put", "loans-a", "bo"],
          ["serving_endpoint.delete", "credit", "ana"],
        ]);
        expect(audit[2]?.before).toEqual(doc);
        expect(audit[2]?.after).toEqual(doc2);
        expect((await t.stores.audit.verifyAuditChain()).ok).toBe(true);
      } finally {
        await t.close();
      }
    });
  });
}

suite("SQLite", sqliteStores);
suite("PostgreSQL", postgresStores);
