import { afterEach, describe, expect, it } from "vitest";
import type { MonitorObservation } from "../../src/store/monitor-observations.js";
import type { MakeStores, TestStores } from "./backends.js";
import { rejected } from "../keel-error.js";

const HOUR = 3_600_000;
const T0 = 1_717_200_000_000;

function psi(hour: number, feature: string, value: number, over: Partial<MonitorObservation> = {}): MonitorObservation {
  return {
    modelName: "loans",
    modelVersion: "3",
    endpoint: "loans",
    windowStart: T0 + hour * HOUR,
    windowEnd: T0 + (hour + 1) * HOUR,
    kind: "drift",
    metric: "psi",
    feature,
    value,
    severity: value > 0.25 ? "major" : "stable",
    detail: { n_reference: 10_000, n_current: 812 },
    ...over,
  };
}

const errorOf = (p: Promise<unknown>) => rejected(p);

/** The monitoring time series, run against every metadata backend. */
export function runObservationStoreSuite(name: string, make: MakeStores): void {
  describe(`observation store on ${name}`, () => {
    let open: TestStores | undefined;
    afterEach(async () => {
      await open?.close();
      open = undefined;
    });
    async function store() {
      open = await make();
      return open.stores.observations;
    }

    it("round-trips every field, leaves absent ones absent, and orders by window, metric, feature, segment", async () => {
      const s = await store();
      const minimal: MonitorObservation = {
        modelName: "loans",
        windowStart: T0,
        windowEnd: T0 + HOUR,
        kind: "volume",
        metric: "request_count",
        value: 812,
      };
      const { feature: _f, severity: _s, ...base } = psi(0, "x", 0.871);
      const perf: MonitorObservation = {
        ...base,
        kind: "performance",
        metric: "auc_7d",
        segment: "region=north",
        detail: { labels: 411, nested: { positives: [1, 2] } },
      };
      const written = [
        psi(1, "credit_score", 0.31),
        psi(0, "region", 0.012),
        psi(0, "credit_score", 0.05),
        minimal,
        perf,
      ];
      await s.append(written);
      const all = await s.query({});
      // window 0 by metric (auc_7d < psi < request_count), then feature; window 1 last
      expect(all).toEqual([
        perf,
        psi(0, "credit_score", 0.05),
        psi(0, "region", 0.012),
        minimal,
        psi(1, "credit_score", 0.31),
      ]);
      const back = all.find((o) => o.metric === "request_count");
      expect(back).toEqual(minimal);
      expect(back && "modelVersion" in back).toBe(false);
      expect(back && "feature" in back).toBe(false);
      expect(back && "detail" in back).toBe(false);
      // newest first, in exactly the reverse order
      expect(await s.query({ order: "desc" })).toEqual([...all].reverse());
    });

    it("filters by model, version, kind, metric, feature, segment and a window-start range", async () => {
      const s = await store();
      const rows: MonitorObservation[] = [];
      for (let h = 0; h < 24; h++) {
        rows.push(psi(h, "credit_score", h / 100), psi(h, "annual_income", 0.01));
        rows.push(psi(h, "credit_score", 0.5, { modelName: "fraud" }));
        rows.push(psi(h, "credit_score", 0.2, { modelVersion: "4" }));
        rows.push(psi(h, "credit_score", 0.9, { kind: "quality", metric: "null_rate" }));
        const { feature: _f, ...perf } = psi(h, "", 0.7, {
          kind: "performance",
          metric: "auc_7d",
          segment: "region=south",
        });
        rows.push(perf);
      }
      await s.append(rows);
      const series = await s.query({
        modelName: "loans",
        modelVersion: "3",
        kind: "drift",
        metric: "psi",
        feature: "credit_score",
      });
      expect(series.map((o) => o.value)).toEqual(Array.from({ length: 24 }, (_, h) => h / 100));
      const ranged = await s.query({
        modelName: "loans",
        modelVersion: "3",
        feature: "credit_score",
        metric: "psi",
        from: T0 + 5 * HOUR,
        to: T0 + 8 * HOUR,
      });
      // from inclusive, to exclusive, on windowStart
      expect(ranged.map((o) => o.windowStart)).toEqual([5, 6, 7].map((h) => T0 + h * HOUR));
      expect((await s.query({ modelName: "fraud" })).length).toBe(24);
      expect((await s.query({ kind: "quality" })).every((o) => o.metric === "null_rate")).toBe(true);
      expect((await s.query({ segment: "region=south" })).length).toBe(24);
      expect((await s.query({ modelName: "loans", limit: 5 })).length).toBe(5);
      const latest = await s.query({ modelName: "loans", modelVersion: "3", kind: "drift", order: "desc", limit: 2 });
      expect(latest.map((o) => [o.windowStart, o.feature])).toEqual([
        [T0 + 23 * HOUR, "credit_score"],
        [T0 + 23 * HOUR, "annual_income"],
      ]);
    });

    it("replaces an observation written again under the same key (re-run windows are idempotent)", async () => {
      const s = await store();
      await s.append([psi(0, "credit_score", 0.3), psi(0, "region", 0.01)]);
      await s.append([psi(0, "credit_score", 0.04, { severity: "stable", detail: { rerun: true } })]);
      // the same key twice in one batch: the later one wins
      await s.append([psi(0, "region", 0.5), psi(0, "region", 0.07)]);
      const all = await s.query({});
      expect(all).toEqual([
        psi(0, "credit_score", 0.04, { severity: "stable", detail: { rerun: true } }),
        psi(0, "region", 0.07),
      ]);
      // a different endpoint or window end is a different key
      await s.append([
        psi(0, "region", 0.2, { endpoint: "loans-eu" }),
        psi(0, "region", 0.3, { windowEnd: T0 + 2 * HOUR }),
      ]);
      expect((await s.query({ feature: "region" })).map((o) => o.value).sort()).toEqual([0.07, 0.2, 0.3]);
    });

    it("writes a large batch in one transaction and rejects the whole batch on one bad row", async () => {
      const s = await store();
      const many = Array.from({ length: 2_000 }, (_, i) => psi(i, `f${i % 7}`, i / 2_000));
      await s.append(many);
      expect((await s.query({ limit: 100_000 })).length).toBe(2_000);
      const e = await errorOf(s.append([psi(5_000, "ok", 0.1), psi(5_001, "bad", Number.NaN)]));
      expect(e.code).toBe("INVALID_PARAMETER_VALUE");
      expect(e.details).toMatchObject({ field: "value" });
      expect(e.message).toContain("finite");
      expect((await s.query({ from: T0 + 5_000 * HOUR })).length).toBe(0);
    });

    it("names the field and the rule on bad input", async () => {
      const s = await store();
      const cases: [Partial<MonitorObservation>, string][] = [
        [{ kind: "weather" as MonitorObservation["kind"] }, "kind"],
        [{ modelName: "" }, "modelName"],
        [{ metric: "" }, "metric"],
        [{ windowEnd: T0 - 1 }, "windowEnd"],
        [{ windowStart: 1.5 }, "windowStart"],
        [{ value: Number.POSITIVE_INFINITY }, "value"],
        [{ feature: "x".repeat(300) }, "feature"],
      ];
      for (const [over, field] of cases) {
        const e = await errorOf(s.append([psi(0, "credit_score", 0.1, over)]));
        expect(e.code, field).toBe("INVALID_PARAMETER_VALUE");
        expect(e.details?.field, field).toBe(field);
        expect(e.message).toContain(field);
      }
      expect((await errorOf(s.query({ limit: 0 }))).details?.field).toBe("limit");
      expect((await errorOf(s.query({ kind: "nope" as MonitorObservation["kind"] }))).details?.field).toBe("kind");
      expect((await errorOf(s.query({ from: Number.NaN }))).details?.field).toBe("from");
    });
  });
}
