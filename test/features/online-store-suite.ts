import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { entityKey, type OnlineRow, type OnlineStore } from "../../src/features/online-store.js";

const row = (id: number, eventTime: number, score: number | null, home = "RENT"): OnlineRow => ({
  entityKey: entityKey([id]),
  eventTime,
  values: { credit_score: score, home_ownership: home },
});

/** The behaviour every online store backend shares; each backend's test calls this with its factory. */
export function runOnlineStoreSuite(name: string, makeStore: () => OnlineStore): void {
  describe(`${name} online store`, () => {
    let store: OnlineStore;
    beforeEach(() => {
      store = makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it("returns undefined for an entity it has no row for", async () => {
      expect(await store.read("applicant_features", [entityKey([404])])).toEqual([undefined]);
    });

    it("reads back written rows in the order asked, per feature view", async () => {
      const n = await store.write("applicant_features", [[row(1, 1000, 640), row(2, 2000, null, "OWN")]]);
      expect(n).toBe(2);
      const got = await store.read("applicant_features", [entityKey([2]), entityKey([3]), entityKey([1])]);
      expect(got).toEqual([
        { eventTime: 2000, values: { credit_score: null, home_ownership: "OWN" } },
        undefined,
        { eventTime: 1000, values: { credit_score: 640, home_ownership: "RENT" } },
      ]);
      expect(await store.read("other_view", [entityKey([1])])).toEqual([undefined]);
    });

    it("keeps the newer row: an older write changes nothing, a repeated write is idempotent", async () => {
      await store.write("applicant_features", [[row(1, 5000, 700)]]);
      await store.write("applicant_features", [[row(1, 4000, 600)]]);
      expect((await store.read("applicant_features", [entityKey([1])]))[0]?.values.credit_score).toBe(700);
      await store.write("applicant_features", [[row(1, 6000, 710)], [row(1, 6000, 710)]]);
      await store.write("applicant_features", [[row(1, 6000, 710)]]);
      expect(await store.read("applicant_features", [entityKey([1])])).toEqual([
        { eventTime: 6000, values: { credit_score: 710, home_ownership: "RENT" } },
      ]);
    });

    it("leaves every row whole, old or new, when a write fails midway", async () => {
      await store.write("applicant_features", [[row(1, 1000, 640), row(2, 1000, 650)]]);
      function* crashing(): Iterable<OnlineRow[]> {
        yield [row(1, 2000, 700)];
        throw new Error("source read failed");
      }
      await expect(store.write("applicant_features", crashing())).rejects.toThrow("source read failed");
      const [one, two] = await store.read("applicant_features", [entityKey([1]), entityKey([2])]);
      expect([640, 700]).toContain(one?.values.credit_score);
      expect(one?.eventTime).toBe(one?.values.credit_score === 640 ? 1000 : 2000);
      expect(two).toEqual({ eventTime: 1000, values: { credit_score: 650, home_ownership: "RENT" } });
    });
  });
}
