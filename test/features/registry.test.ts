import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFeatureRegistry, loadFeatureRepo, type FeatureRepo } from "../../src/features/index.js";
import { postgresStores, sqliteStores, steppingClock, type MakeStores, type TestStores } from "../store/backends.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

function runFeatureRegistrySuite(name: string, make: MakeStores): void {
  describe(`feature registry on ${name}`, () => {
    let t: TestStores;
    let repo: FeatureRepo;
    beforeEach(async () => {
      t = await make({ clock: steppingClock() });
      repo = await loadFeatureRepo(path.join(FIXTURES, "loan-features.yaml"));
    });
    afterEach(() => t.close());

    it("versions applied repositories, skips unchanged ones, and audits each version", async () => {
      const registry = createFeatureRegistry(t.stores.metadata, { clock: steppingClock() });
      expect(await registry.latest()).toBeUndefined();
      await expect(registry.current()).rejects.toThrow("no feature repository has been applied");
      const first = await registry.apply(repo, { sourceFile: "/r/features.yaml", actor: "ana" });
      expect(first).toMatchObject({ version: 1, changed: true });
      expect(await registry.apply(repo, { sourceFile: "/r/features.yaml", actor: "ana" })).toEqual({
        ...first,
        changed: false,
      });
      const changed: FeatureRepo = { ...repo, featureServices: [] };
      expect(await registry.apply(changed, { sourceFile: "/r/features.yaml", actor: "bo" })).toMatchObject({
        version: 2,
        changed: true,
      });
      const latest = await registry.current();
      expect(latest).toMatchObject({ version: 2, appliedBy: "bo", repo: changed });
      const audit = await t.stores.audit.list({ targetType: "feature_repo" });
      expect(audit.map((a) => [a.action, a.targetId, a.actor])).toEqual([
        ["feature_repo.apply", "1", "ana"],
        ["feature_repo.apply", "2", "bo"],
      ]);
      expect((await t.stores.audit.verifyAuditChain()).ok).toBe(true);
    });

    it("remembers how far each feature view was materialized", async () => {
      const registry = createFeatureRegistry(t.stores.metadata);
      expect(await registry.materializedUntil("applicant_features")).toBeUndefined();
      await registry.recordMaterialization({ featureView: "applicant_features", start: 0, end: 5000, rows: 3 });
      await registry.recordMaterialization({ featureView: "applicant_features", start: 5000, end: 9000, rows: 1 });
      await registry.recordMaterialization({ featureView: "other", start: 0, end: 99_000, rows: 1 });
      expect(await registry.materializedUntil("applicant_features")).toBe(9000);
    });
  });
}

runFeatureRegistrySuite("SQLite", sqliteStores);
runFeatureRegistrySuite("PostgreSQL", postgresStores);
