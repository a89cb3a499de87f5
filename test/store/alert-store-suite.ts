import { afterEach, describe, expect, it } from "vitest";
import { KeelError } from "../../src/errors.js";
import type { NewAlert } from "../../src/store/alert-history.js";
import { createAlertStore } from "../../src/store/alert-history-sql.js";
import { AlertEngine } from "../../src/monitoring/index.js";
import { steppingClock, type MakeStores, type TestStores } from "./backends.js";
import { withOverrides, type Overrides } from "../overrides.js";

const T0 = 1_700_000_000_000;

function alert(over: Overrides<NewAlert> = {}): NewAlert {
  return withOverrides(
    {
      ruleId: "credit_score_psi_notify",
      tier: "notify",
      dedupKey: "credit_score_psi_notify|loans|3|||",
      modelName: "loans",
      modelVersion: "3",
      feature: "credit_score",
      summary: "loans v3 (credit_score): psi = 0.31 > 0.1",
      value: 0.31,
      threshold: 0.1,
      windowStart: T0 - 3_600_000,
      windowEnd: T0,
      detail: { observed: 0.31 },
    },
    over,
  );
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e.code;
    throw e;
  }
  return "OK";
}

/** Alert history, run against every metadata backend. */
export function runAlertStoreSuite(name: string, make: MakeStores): void {
  describe(`alert history on ${name}`, () => {
    let open: TestStores | undefined;
    afterEach(async () => {
      await open?.close();
      open = undefined;
    });
    async function setup() {
      const clock = steppingClock(T0);
      open = await make({ clock });
      return { store: createAlertStore(open.stores.metadata, { clock }), stores: open.stores };
    }

    it("fires, acknowledges and resolves, with an audit row for each change of state", async () => {
      const { store, stores } = await setup();
      const a = await store.fire(alert());
      expect(a).toMatchObject({ ...alert(), status: "open" });
      expect(a.firedAt).toBeGreaterThanOrEqual(T0);
      expect(a.lastSeenAt).toBe(a.firedAt);
      expect(a.id).toMatch(/^[0-9a-f]{16}$/);
      expect(a.resolvedAt).toBeUndefined();
      await store.touch(a.id, a.firedAt + 500);
      expect((await store.get(a.id)).lastSeenAt).toBe(a.firedAt + 500);
      const acked = await store.acknowledge(a.id, { userId: "ana" });
      expect(acked).toMatchObject({ status: "acknowledged", acknowledgedBy: "ana" });
      // a second acknowledgement keeps the first
      const again = await store.acknowledge(a.id, { userId: "bo" });
      expect(again.acknowledgedBy).toBe("ana");
      expect(again.acknowledgedAt).toBe(acked.acknowledgedAt);
      const resolved = await store.resolve(a.id);
      expect(resolved.status).toBe("resolved");
      expect(resolved.resolvedAt).toBeGreaterThan(acked.acknowledgedAt!);
      expect(await code(store.resolve(a.id))).toBe("INVALID_STATE");
      expect(await code(store.acknowledge(a.id, { userId: "ana" }))).toBe("INVALID_STATE");
      expect(await code(store.get("0000000000000000"))).toBe("RESOURCE_DOES_NOT_EXIST");
      const audit = await stores.audit.list({ targetType: "alert", targetId: a.id });
      expect(audit.map((r) => [r.action, r.actor])).toEqual([
        ["alert.fire", "keel-monitoring"],
        ["alert.acknowledge", "ana"],
        ["alert.resolve", "keel-monitoring"],
      ]);
      expect(audit[1]?.after).toMatchObject({ status: "acknowledged" });
      expect((await stores.audit.verifyAuditChain()).ok).toBe(true);
    });

    it("lists newest first with filters, and leaves absent fields absent", async () => {
      const { store } = await setup();
      const a = await store.fire(alert());
      const b = await store.fire(
        alert({ ruleId: "ks_p_value_page", tier: "page", dedupKey: "ks|loans", feature: undefined, detail: undefined }),
      );
      const c = await store.fire(alert({ modelName: "fraud", dedupKey: "x|fraud" }));
      await store.resolve(a.id);
      expect((await store.list()).map((x) => x.id)).toEqual([c.id, b.id, a.id]);
      expect((await store.list({ modelName: "loans" })).map((x) => x.id)).toEqual([b.id, a.id]);
      expect((await store.list({ unresolved: true })).map((x) => x.id)).toEqual([c.id, b.id]);
      expect((await store.list({ status: "resolved" })).map((x) => x.id)).toEqual([a.id]);
      expect((await store.list({ tier: "page" })).map((x) => x.id)).toEqual([b.id]);
      expect((await store.list({ dedupKey: "x|fraud" })).map((x) => x.id)).toEqual([c.id]);
      expect((await store.list({ from: b.firedAt })).map((x) => x.id)).toEqual([c.id, b.id]);
      expect((await store.list({ to: b.firedAt })).map((x) => x.id)).toEqual([a.id]);
      expect((await store.list({ limit: 1 })).map((x) => x.id)).toEqual([c.id]);
      const got = await store.get(b.id);
      expect("feature" in got).toBe(false);
      expect("detail" in got).toBe(false);
      expect(got.modelVersion).toBe("3");
    });

    it("holds one unresolved alert per dedup key; once resolved, the key may fire again", async () => {
      const { store } = await setup();
      const a = await store.fire(alert());
      expect(await code(store.fire(alert()))).toBe("RESOURCE_ALREADY_EXISTS");
      await store.acknowledge(a.id, { userId: "oncall" });
      expect(await code(store.fire(alert()))).toBe("RESOURCE_ALREADY_EXISTS");
      await store.resolve(a.id);
      const b = await store.fire(alert());
      expect((await store.list({ dedupKey: alert().dedupKey })).map((x) => [x.id, x.status])).toEqual([
        [b.id, "open"],
        [a.id, "resolved"],
      ]);
    });

    it("two replicas' engines raising and evaluating the same alert at once fire it once", async () => {
      const { store, stores } = await setup();
      const engines = [0, 1].map(
        () =>
          new AlertEngine({
            observations: stores.observations,
            alerts: store,
            rules: [
              {
                id: "psi_notify",
                tier: "notify",
                kind: "drift",
                metric: "psi",
                feature: "*",
                condition: "above",
                threshold: 0.1,
              },
            ],
            sinks: [],
            clock: () => T0 + 1_000,
          }),
      );
      const fired: string[] = [];
      for (const e of engines) e.onAlert((ev) => void (ev.action === "fired" && fired.push(ev.alert.id)));
      const target = { modelName: "loans", endpoint: "loans" };
      const raised = await Promise.all(
        engines.map((e) =>
          e.raise({
            ruleId: "review_sla",
            tier: "notify",
            target,
            summary: "late",
            value: 2,
            threshold: 1,
            detail: {},
          }),
        ),
      );
      expect(raised.filter((r) => r !== undefined)).toHaveLength(1);
      await stores.observations.append([
        {
          modelName: "loans",
          modelVersion: "3",
          windowStart: T0 - 3_600_000,
          windowEnd: T0,
          kind: "drift",
          metric: "psi",
          feature: "credit_score",
          value: 0.4,
          severity: "major",
        },
      ]);
      const results = await Promise.all(engines.map((e) => e.evaluate("loans")));
      expect(results.flatMap((r) => r.fired)).toHaveLength(1);
      expect(fired).toHaveLength(2);
      expect(await store.list({ unresolved: true })).toHaveLength(2);
    });

    it("names the field on bad input", async () => {
      const { store } = await setup();
      for (const [over, field] of [
        [{ ruleId: "" }, "ruleId"],
        [{ value: Number.NaN }, "value"],
        [{ summary: "" }, "summary"],
      ] as const) {
        const e = await store.fire(alert(over)).catch((x: unknown) => x);
        expect((e as KeelError).details?.field).toBe(field);
      }
      const e = await store.list({ limit: 0 }).catch((x: unknown) => x);
      expect((e as KeelError).details?.field).toBe("limit");
    });
  });
}
