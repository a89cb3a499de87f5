import { describe, expect, it } from "vitest";
import { upsertTags } from "../../src/store/tags.js";
import { postgresStores, sqliteStores, type MakeStores } from "./backends.js";

function suite(name: string, make: MakeStores) {
  describe(`upsertTags on ${name}`, () => {
    it("inserts new keys, replaces the value of a key already set, and keeps owners apart", async () => {
      const t = await make();
      try {
        const { metadata, registry } = t.stores;
        await registry.createModelVersion({ name: "loans", source: "models/loans/1" });
        await registry.createModelVersion({ name: "loans", source: "models/loans/2" });
        await metadata.transaction(async (tx) => {
          await upsertTags(tx, "model_version_tags", { name: "loans", version: 1 }, [
            { key: "validated", value: "no" },
            { key: "owner", value: "ana" },
          ]);
          await upsertTags(tx, "model_version_tags", { name: "loans", version: 2 }, [
            { key: "validated", value: "no" },
          ]);
          await upsertTags(tx, "model_version_tags", { name: "loans", version: 1 }, [
            { key: "validated", value: "yes" },
            { key: "validated", value: "twice" },
          ]);
        });
        const rows = await metadata.db
          .selectFrom("model_version_tags")
          .select(["version", "key", "value"])
          .orderBy("version")
          .orderBy("key")
          .execute();
        expect(rows.map((r) => [Number(r.version), r.key, r.value])).toEqual([
          [1, "owner", "ana"],
          [1, "validated", "twice"],
          [2, "validated", "no"],
        ]);
      } finally {
        await t.close();
      }
    });
  });
}

suite("SQLite", sqliteStores);
suite("PostgreSQL", postgresStores);
