import { describe, expect, it } from "vitest";
import { createLeaseStore } from "../../src/store/index.js";
import type { MakeStores } from "./backends.js";

/** The lease store's contract, run on each backend. Time is a variable the test moves. */
export function runLeaseStoreSuite(name: string, make: MakeStores): void {
  describe(`scheduler leases on ${name}`, () => {
    it("grants a job to one holder, renews it for that holder, hands it over only after expiry, and keeps the checkpoint", async () => {
      const t = await make();
      try {
        let now = 1_000_000;
        const store = createLeaseStore(t.stores.metadata, { clock: () => now });
        const a = store.lease("monitor-scheduler", "replica-a", 10_000);
        const b = store.lease("monitor-scheduler", "replica-b", 10_000);
        expect(await a.acquire()).toEqual({ checkpoint: undefined });
        expect(await b.acquire()).toBeUndefined();
        expect(await a.save("window 1")).toBe(true);
        // b may not write a checkpoint on a lease it does not hold
        expect(await b.save("forged")).toBe(false);
        now += 9_000;
        expect(await a.acquire()).toEqual({ checkpoint: "window 1" });
        now += 9_000; // 18 s after the first grant, 9 s after the renewal: still a's
        expect(await b.acquire()).toBeUndefined();
        now += 1_000; // a stopped renewing 10 s ago: expired
        expect(await a.save("late")).toBe(false);
        expect(await b.acquire()).toEqual({ checkpoint: "window 1" });
        expect(await a.acquire()).toBeUndefined();
        const [row] = await store.list();
        expect(row).toMatchObject({
          job: "monitor-scheduler",
          holder: "replica-b",
          acquiredAt: now,
          expiresAt: now + 10_000,
        });
        // another job is another lease
        expect(await store.lease("review-sla", "replica-a", 10_000).acquire()).toEqual({ checkpoint: undefined });
      } finally {
        await t.close();
      }
    });

    it("releases at once on a clean shutdown", async () => {
      const t = await make();
      try {
        const now = 5_000;
        const store = createLeaseStore(t.stores.metadata, { clock: () => now });
        const a = store.lease("canary-advance", "a", 60_000);
        const b = store.lease("canary-advance", "b", 60_000);
        await a.acquire();
        expect(await b.acquire()).toBeUndefined();
        await a.release();
        expect(await b.acquire()).toEqual({ checkpoint: undefined });
      } finally {
        await t.close();
      }
    });

    it("gives one grant when many holders ask at once", async () => {
      const t = await make();
      try {
        const store = createLeaseStore(t.stores.metadata);
        const holders = Array.from({ length: 8 }, (_, i) => store.lease("retraining:loan", `r${i}`, 30_000));
        const grants = await Promise.all(holders.map((h) => h.acquire()));
        expect(grants.filter((g) => g !== undefined)).toHaveLength(1);
      } finally {
        await t.close();
      }
    });
  });
}
