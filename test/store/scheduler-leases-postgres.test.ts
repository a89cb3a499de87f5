import { describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import { postgresStores } from "./backends.js";
import { runLeaseStoreSuite } from "./scheduler-leases-suite.js";

runLeaseStoreSuite("PostgreSQL", postgresStores);

describe("change notifications on PostgreSQL", () => {
  it("tells a listener in the same schema which followed table another connection wrote, and nothing of other tables", async () => {
    const t = await postgresStores();
    const other = openStores({ backendStoreUri: t.uri, artifactRoot: t.artifactRoot });
    const seen: string[] = [];
    const errors: unknown[] = [];
    const watch = t.stores.metadata.watchChanges?.(
      (table) => seen.push(table),
      (e) => errors.push(e),
    );
    try {
      expect(watch).toBeDefined();
      await watch?.ready;
      await other.registry.createRegisteredModel("loan");
      const mv = await other.registry.createModelVersion({ name: "loan", source: "/models/loan" });
      await other.registry.setAlias("loan", "champion", mv.version);
      await other.canaries.approve({ modelName: "loan", modelVersion: mv.version, approver: "ana", reason: "ok" });
      const until = async (table: string) => {
        for (let i = 0; i < 200 && !seen.includes(table); i++) await new Promise((r) => setTimeout(r, 25));
      };
      await until("registered_model_aliases");
      await until("canary_approval");
      expect(seen).toContain("registered_model_aliases");
      expect(seen).toContain("canary_approval");
      // registering a model or a version is not something serving follows by notification
      expect(seen).not.toContain("model_versions");
      expect(seen).not.toContain("registered_models");
      expect(errors).toEqual([]);
    } finally {
      await watch?.stop();
      await other.close();
      await t.close();
    }
  });
});
