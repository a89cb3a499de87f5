import { afterEach, describe, expect, it } from "vitest";
import type { InferenceRecord } from "../../src/store/inference-log.js";
import type { LabelInput } from "../../src/store/labels.js";
import { steppingClock, type MakeStores, type TestStores } from "./backends.js";
import { rejected } from "../keel-error.js";

const T0 = 1_717_200_000_000;
const DAY = 86_400_000;

function prediction(requestId: string, time: number, entityId?: string): InferenceRecord {
  return {
    requestId,
    time,
    endpoint: "loans",
    modelName: "loans",
    modelVersion: "1",
    route: "champion",
    ...(entityId !== undefined ? { entityId } : {}),
    features: { region: "north" },
    outputs: { score: 0.2, decision: "negative" },
    latencyMs: 1,
  };
}

const errorOf = (p: Promise<unknown>) => rejected(p);

/** The delayed-label store, run against every metadata backend. */
export function runLabelStoreSuite(name: string, make: MakeStores): void {
  describe(`label store on ${name}`, () => {
    let open: TestStores | undefined;
    afterEach(async () => {
      await open?.close();
      open = undefined;
    });
    async function stores() {
      open = await make({ clock: steppingClock(T0) });
      return open.stores;
    }

    it("stores request-id and entity labels and reads them back by request id and by entity", async () => {
      const s = await stores();
      const written: LabelInput[] = [
        { requestId: "r-1", label: 1, source: "api" },
        { requestId: "r-2", label: 0, source: "api" },
        { entityId: "app-7", time: T0 + 3 * DAY, label: 1, source: "file:june.csv" },
        { entityId: "app-7", time: T0 + 9 * DAY, label: 0, source: "file:june.csv" },
        { entityId: "app-8", time: T0, label: 0, source: "file:june.csv" },
      ];
      expect(await s.labels.put(written, { actor: "ana" })).toEqual({ inserted: 5, updated: 0, unchanged: 0 });
      const byRequest = await s.labels.byRequestIds(["r-2", "r-1", "r-9"]);
      expect([...byRequest].sort((a, b) => (a.requestId ?? "").localeCompare(b.requestId ?? ""))).toEqual([
        { requestId: "r-1", label: 1, receivedAt: expect.any(Number) as number, source: "api" },
        { requestId: "r-2", label: 0, receivedAt: expect.any(Number) as number, source: "api" },
      ]);
      const byEntity = [...(await s.labels.byEntityIds(["app-7"]))].sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
      expect(byEntity.map((l) => [l.entityId, l.time, l.label, l.source])).toEqual([
        ["app-7", T0 + 3 * DAY, 1, "file:june.csv"],
        ["app-7", T0 + 9 * DAY, 0, "file:june.csv"],
      ]);
      expect(byEntity.every((l) => !("requestId" in l))).toBe(true);
      // received time comes from the store's clock, within the clock's range so far
      expect(byEntity[0]?.receivedAt).toBeGreaterThanOrEqual(T0);
      expect(byEntity[0]?.receivedAt).toBeLessThan(T0 + 1_000);
      expect(await s.labels.byEntityIds([])).toEqual([]);
      // one audit row for the batch, with its counts
      const audit = await s.audit.list({ targetType: "labels" });
      expect(audit.map((a) => [a.action, a.actor, a.targetId, a.after])).toEqual([
        [
          "labels.ingest",
          "ana",
          "2 sources",
          { inserted: 5, updated: 0, unchanged: 0, sources: ["api", "file:june.csv"] },
        ],
      ]);
    });

    it("is idempotent on re-ingest: the same label is unchanged, a different one replaces it with an audit row", async () => {
      const s = await stores();
      await s.labels.put(
        [
          { requestId: "r-1", label: 1, source: "api" },
          { entityId: "app-7", time: T0, label: 0, source: "api" },
        ],
        { actor: "ana" },
      );
      const again = await s.labels.put(
        [
          { requestId: "r-1", label: 1, source: "retry" },
          { entityId: "app-7", time: T0, label: 1, source: "correction.csv" },
          // same entity at another time is another label
          { entityId: "app-7", time: T0 + 1, label: 0, source: "correction.csv" },
        ],
        { actor: "bo" },
      );
      expect(again).toEqual({ inserted: 1, updated: 1, unchanged: 1 });
      const [r1] = await s.labels.byRequestIds(["r-1"]);
      // unchanged keeps its first source
      expect(r1?.source).toBe("api");
      const app7 = [...(await s.labels.byEntityIds(["app-7"]))].sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
      expect(app7.map((l) => [l.label, l.source])).toEqual([
        [1, "correction.csv"],
        [0, "correction.csv"],
      ]);
      const updates = await s.audit.list({ targetType: "label" });
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({
        action: "label.update",
        actor: "bo",
        targetId: JSON.stringify(["entity", "app-7", T0]),
        before: { label: 0, source: "api" },
        after: { label: 1, source: "correction.csv" },
      });
      expect((await s.audit.verifyAuditChain()).ok).toBe(true);
      // the same key twice in one batch: the later label wins
      expect(
        await s.labels.put(
          [
            { requestId: "r-5", label: 0, source: "api" },
            { requestId: "r-5", label: 1, source: "api" },
          ],
          { actor: "ana" },
        ),
      ).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
      expect((await s.labels.byRequestIds(["r-5"]))[0]?.label).toBe(1);
    });

    it("refuses a bad label naming the field, value and rule, and writes nothing of the batch", async () => {
      const s = await stores();
      const bad = await errorOf(
        s.labels.put(
          [
            { requestId: "r-1", label: 1, source: "api" },
            { requestId: "r-2", label: 2, source: "api" },
          ],
          { actor: "ana" },
        ),
      );
      expect(bad.code).toBe("INVALID_PARAMETER_VALUE");
      expect(bad.details).toEqual({ field: "labels[1].label", value: 2, rule: "must be 0 or 1" });
      const noTime = await errorOf(
        s.labels.put([{ entityId: "app-1", time: 1.5, label: 0, source: "api" }], { actor: "ana" }),
      );
      expect(noTime.details).toMatchObject({ field: "labels[0].time", rule: "must be epoch milliseconds" });
      const emptyId = await errorOf(s.labels.put([{ requestId: "", label: 0, source: "api" }], { actor: "ana" }));
      expect(emptyId.details).toMatchObject({ field: "labels[0].requestId", value: "" });
      expect(await s.labels.byRequestIds(["r-1", "r-2"])).toEqual([]);
    });

    it("matches keys to the inference log: request ids logged, entities with a prediction at or before the label time", async () => {
      const s = await stores();
      await s.inferenceLog.append(
        [
          prediction("r-1", T0, "app-1"),
          prediction("r-2", T0 + DAY, "app-1"),
          prediction("r-3", T0 + 5 * DAY, "app-2"),
        ],
        { durability: "sync" },
      );
      const m = await s.labels.matchInferenceLog([
        { requestId: "r-2" },
        { requestId: "r-404" },
        { entityId: "app-1", time: T0 },
        { entityId: "app-1", time: T0 - 1 },
        { entityId: "app-2", time: T0 + 4 * DAY },
        { entityId: "app-2", time: T0 + 30 * DAY },
        { entityId: "app-3", time: T0 + 30 * DAY },
      ]);
      expect([...m]).toEqual([1, 0, 1, 0, 0, 1, 0]);
    });

    it("writes and matches batches larger than one statement's key list", async () => {
      const s = await stores();
      const n = 1_234;
      const records = Array.from({ length: n }, (_, i) => prediction(`r-${i}`, T0 + i, `e-${i}`));
      await s.inferenceLog.append(records, { durability: "sync" });
      const labels: LabelInput[] = Array.from({ length: n }, (_, i) =>
        i % 2 === 0
          ? { requestId: `r-${i}`, label: i % 3 === 0 ? 1 : 0, source: "bulk" }
          : { entityId: `e-${i}`, time: T0 + i + (i % 5 === 0 ? -1 : 0), label: 0, source: "bulk" },
      );
      expect(await s.labels.put(labels, { actor: "ana" })).toEqual({ inserted: n, updated: 0, unchanged: 0 });
      const m = await s.labels.matchInferenceLog(labels);
      let expected = 0;
      for (let i = 0; i < n; i++) if (i % 2 === 0 || i % 5 !== 0) expected++;
      expect(m.reduce((a, b) => a + b, 0)).toBe(expected);
      expect((await s.labels.byRequestIds(records.map((r) => r.requestId))).length).toBe(617);
      expect((await s.labels.byEntityIds(records.map((r) => r.entityId ?? ""))).length).toBe(617);
    });
  });
}
