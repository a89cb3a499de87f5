import { describe, expect, it } from "vitest";
import { createCanaryStore } from "../../src/store/serving-canaries.js";
import { postgresStores, sqliteStores, steppingClock, type MakeStores } from "./backends.js";

function suite(name: string, make: MakeStores) {
  describe(`canary store on ${name}`, () => {
    it("keeps an endpoint's canary and its decisions across reopen, starts a new history for a new version, and audits each", async () => {
      const t = await make();
      try {
        const store = createCanaryStore(t.stores.metadata, { clock: steppingClock(1_000) });
        const running = {
          endpoint: "loans",
          modelName: "loan",
          modelVersion: "3",
          status: "running" as const,
          step: 0,
          startedAt: 500,
          stepStartedAt: 500,
        };
        await store.record(
          running,
          { at: 500, action: "start", step: 0, percent: 5, reason: "canary started" },
          "keel-serving",
        );
        await store.record(
          { ...running, step: 1, stepStartedAt: 900, startedAt: 900 },
          { at: 900, action: "advance", step: 1, percent: 25, reason: "time", evidence: { requests: 40, errors: 0 } },
          "keel-serving",
        );
        const other = createCanaryStore(t.stores.metadata);
        const stored = await other.get("loans");
        // the canary's start stays the first one
        expect(stored).toMatchObject({
          modelVersion: "3",
          status: "running",
          step: 1,
          startedAt: 500,
          stepStartedAt: 900,
        });
        expect(stored?.decisions.map((d) => d.action)).toEqual(["start", "advance"]);
        expect(stored?.decisions[1]?.evidence).toEqual({ requests: 40, errors: 0 });

        await store.record(
          { ...running, modelVersion: "4", startedAt: 2_000, stepStartedAt: 2_000 },
          { at: 2_000, action: "start", step: 0, percent: 5, reason: "canary started" },
          "keel-serving",
        );
        expect((await other.get("loans"))?.decisions.map((d) => d.action)).toEqual(["start"]);
        expect(await other.get("nope")).toBeUndefined();

        expect(await store.approval("loan", "4")).toBeUndefined();
        await store.approve({ modelName: "loan", modelVersion: "4", approver: "ana", reason: "report 7" });
        await store.approve({ modelName: "loan", modelVersion: "4", approver: "bo", reason: "report 8" });
        expect(await other.approval("loan", "4")).toMatchObject({ approver: "bo", reason: "report 8" });

        const audit = await t.stores.audit.list({ limit: 100 });
        expect(audit.map((a) => [a.action, a.actor])).toEqual([
          ["serving_canary.start", "keel-serving"],
          ["serving_canary.advance", "keel-serving"],
          ["serving_canary.start", "keel-serving"],
          ["canary.approve", "ana"],
          ["canary.approve", "bo"],
        ]);
        expect((await t.stores.audit.verifyAuditChain()).ok).toBe(true);
      } finally {
        await t.close();
      }
    });
  });
}

suite("SQLite", sqliteStores);
suite("PostgreSQL", postgresStores);
