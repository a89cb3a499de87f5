import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulberry32, readTable, type Column, type Frame } from "../../src/data/index.js";
import {
  createFeatureRegistry,
  createSqliteOnlineStore,
  createTransformLoader,
  featureService,
  getHistoricalFeatures,
  getOnlineFeatures,
  loadFeatureRepo,
  materialize,
  parseFeatureRepo,
  resolveFeatureRefs,
} from "../../src/features/index.js";
import { sqliteStores } from "../store/backends.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const BASE = Date.UTC(2026, 0, 1);
const TTL = 30;

type Cell = number | string | null;
interface FeatureRow {
  id: number;
  ts: number;
  created: number;
  score: number | null;
  income: number | null;
  home: string | null;
}

function iso(seconds: number): string {
  return new Date(BASE + seconds * 1000).toISOString().replace("Z", "");
}

function csv(header: string[], rows: Cell[][]): string {
  return (
    [header.join(","), ...rows.map((r) => r.map((c) => (c === null ? "" : String(c))).join(","))].join("\n") + "\n"
  );
}

/** The brute-force oracle: scan every feature row for each entity row. */
function pointInTime(
  rows: readonly FeatureRow[],
  id: number,
  ts: number | null,
  ttl: number | undefined,
): FeatureRow | null {
  if (ts === null) return null;
  let best: FeatureRow | null = null;
  for (const r of rows) {
    if (r.id !== id || r.ts > ts) continue;
    if (best === null || r.ts > best.ts || (r.ts === best.ts && r.created > best.created)) best = r;
  }
  if (best === null || (ttl !== undefined && best.ts < ts - ttl)) return null;
  return best;
}

function cell(c: Column, i: number): Cell {
  if (c.kind === "numeric") {
    const v = c.values[i] as number;
    return Number.isNaN(v) ? null : v;
  }
  const k = c.codes[i] as number;
  return k < 0 ? null : (c.dictionary[k] as string);
}

function col(frame: Frame, name: string): Column {
  const c = frame.columns.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no column ${name}`);
  return c;
}

describe("point-in-time historical retrieval", () => {
  let dir: string;
  const rand = mulberry32(7);
  const int = (n: number) => Math.floor(rand() * n);
  const events: FeatureRow[] = [];
  const stats: { id: number; ts: number; trips: number }[] = [];
  const entityRows: { id: number; ts: number | null; label: number }[] = [];

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-pit-"));
    // Event times on a coarse grid make ties (same entity, same time) common; created breaks them.
    const created = Array.from({ length: 800 }, (_, i) => i).sort(() => rand() - 0.5);
    for (let i = 0; i < 800; i++) {
      events.push({
        id: 1 + int(30),
        ts: 15 * int(40),
        created: created[i] as number,
        score: rand() < 0.1 ? null : 300 + int(550),
        income: rand() < 0.1 ? null : Math.round(rand() * 1e7) / 100,
        home: rand() < 0.1 ? null : (["RENT", "OWN", "MORTGAGE"][int(3)] as string),
      });
    }
    // A second view without created timestamps: one row per entity and time.
    for (let id = 1; id <= 30; id++) {
      for (let t = int(7); t < 600; t += 1 + int(60)) stats.push({ id, ts: t, trips: int(100) });
    }
    for (let i = 0; i < 600; i++) {
      const e = events[int(events.length)] as FeatureRow;
      // Entity times on, just inside and just past the TTL edge of a real row, plus random ones,
      // unknown entities (31–35) and missing timestamps.
      const pick = int(6);
      const ts = pick === 0 ? e.ts + TTL : pick === 1 ? e.ts + TTL + 1 : pick === 2 ? e.ts : int(650);
      entityRows.push({ id: rand() < 0.1 ? 31 + int(5) : e.id, ts: rand() < 0.03 ? null : ts, label: int(2) });
    }
    writeFileSync(
      path.join(dir, "events.csv"),
      csv(
        ["applicant_id", "event_timestamp", "created", "credit_score", "annual_income", "home_ownership"],
        events.map((r) => [r.id, iso(r.ts), iso(r.created), r.score, r.income, r.home]),
      ),
    );
    writeFileSync(
      path.join(dir, "stats.csv"),
      csv(
        ["applicant_id", "ts", "trips"],
        stats.map((r) => [r.id, iso(r.ts), r.trips]),
      ),
    );
    writeFileSync(
      path.join(dir, "entities.csv"),
      csv(
        ["label", "applicant_id", "event_timestamp"],
        entityRows.map((r) => [r.label, r.id, r.ts === null ? null : iso(r.ts)]),
      ),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function repo() {
    return parseFeatureRepo(
      {
        entities: [{ name: "applicant", join_keys: ["applicant_id"] }],
        sources: [
          {
            name: "events",
            path: "events.csv",
            timestamp_field: "event_timestamp",
            created_timestamp_column: "created",
          },
          { name: "stats", path: "stats.csv", timestamp_field: "ts" },
        ],
        feature_views: [
          {
            name: "applicant_features",
            entities: ["applicant"],
            source: "events",
            ttl: TTL,
            schema: [
              { name: "credit_score", dtype: "int64" },
              { name: "annual_income", dtype: "float64" },
              { name: "home_ownership", dtype: "string" },
            ],
          },
          {
            name: "applicant_stats",
            entities: ["applicant"],
            source: "stats",
            schema: [{ name: "trips", dtype: "int64" }],
          },
        ],
      },
      dir,
    );
  }

  it.each(["parquet", "csv"])(
    "equals a brute-force scan on random data with ties, nulls, TTL edges and unknown entities (%s)",
    async (ext) => {
      const r = repo();
      const output = path.join(dir, `train.${ext}`);
      const result = await getHistoricalFeatures(r, {
        entityDf: path.join(dir, "entities.csv"),
        features: resolveFeatureRefs(r, ["applicant_features", "applicant_stats:trips"], "features"),
        output,
      });
      expect(result).toEqual({
        rows: entityRows.length,
        columns: [
          "label",
          "applicant_id",
          "event_timestamp",
          "credit_score",
          "annual_income",
          "home_ownership",
          "trips",
        ],
      });
      const frame = await readTable(output);
      expect(frame.columns.map((c) => c.name)).toEqual(result.columns);
      let present = 0;
      let expired = 0;
      let ties = 0;
      entityRows.forEach((e, i) => {
        expect(cell(col(frame, "label"), i)).toBe(e.label);
        expect(cell(col(frame, "applicant_id"), i)).toBe(e.id);
        const want = pointInTime(events, e.id, e.ts, TTL);
        if (want !== null) present++;
        if (want !== null && events.some((x) => x !== want && x.id === want.id && x.ts === want.ts)) ties++;
        else if (e.ts !== null && pointInTime(events, e.id, e.ts, undefined) !== null) expired++;
        const got = [
          cell(col(frame, "credit_score"), i),
          cell(col(frame, "annual_income"), i),
          cell(col(frame, "home_ownership"), i),
        ];
        expect(got, `entity row ${i}`).toEqual(
          want === null ? [null, null, null] : [want.score, want.income, want.home],
        );
        const trips =
          e.ts === null ? null : (stats.filter((s) => s.id === e.id && s.ts <= (e.ts as number)).at(-1)?.trips ?? null);
        expect(cell(col(frame, "trips"), i), `entity row ${i} trips`).toBe(trips);
      });
      // The data exercises both sides of the TTL.
      expect(present).toBeGreaterThan(200);
      expect(expired).toBeGreaterThan(20);
      expect(ties).toBeGreaterThan(20);
    },
  );

  it("names columns view__feature with full feature names, and refuses a collision without", async () => {
    const r = repo();
    const output = path.join(dir, "full.csv");
    const refs = resolveFeatureRefs(r, ["applicant_stats:trips"], "features");
    const full = await getHistoricalFeatures(r, {
      entityDf: path.join(dir, "entities.csv"),
      features: refs,
      fullFeatureNames: true,
      output,
    });
    expect(full.columns.at(-1)).toBe("applicant_stats__trips");
    writeFileSync(path.join(dir, "clash.csv"), "applicant_id,event_timestamp,trips\n1,2026-01-01T00:01:00,3\n");
    await expect(
      getHistoricalFeatures(r, { entityDf: path.join(dir, "clash.csv"), features: refs, output }),
    ).rejects.toThrow(
      'features = "applicant_stats:trips": output column trips already exists; use --full-feature-names',
    );
  });

  it("names the missing entity-df column", async () => {
    const r = repo();
    writeFileSync(path.join(dir, "nots.csv"), "applicant_id,when\n1,2026-01-01T00:01:00\n");
    await expect(
      getHistoricalFeatures(r, {
        entityDf: path.join(dir, "nots.csv"),
        features: resolveFeatureRefs(r, ["applicant_stats"], "features"),
        output: path.join(dir, "x.csv"),
      }),
    ).rejects.toThrow(
      'entity-df = "event_timestamp": must name a column of the entity dataframe (columns: applicant_id, when)',
    );
  });
});

describe("historical retrieval with on-demand views", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-pit-odfv-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs the transformation on the point-in-time values and gives what online serving gives", async () => {
    const repo = await loadFeatureRepo(path.join(FIXTURES, "loan-features.yaml"));
    const entities = path.join(dir, "entities.csv");
    writeFileSync(
      entities,
      "applicant_id,event_timestamp,loan_amount\n1,2026-04-01T00:00:00,10800\n2,2026-02-14T00:00:00,5000\n2,2026-04-01T00:00:00,8800\n",
    );
    const output = path.join(dir, "train.parquet");
    const result = await getHistoricalFeatures(repo, {
      entityDf: entities,
      features: [...featureService(repo, "loan_default_v1", "feature_service").features],
      output,
    });
    expect(result.columns).toEqual([
      "applicant_id",
      "event_timestamp",
      "loan_amount",
      "credit_score",
      "annual_income",
      "monthly_debt",
      "home_ownership",
      "debt_to_income",
      "loan_to_income",
    ]);
    const frame = await readTable(output);
    const values = (name: string) => [0, 1, 2].map((i) => cell(col(frame, name), i));
    expect(values("credit_score")).toEqual([660, null, 720]);
    expect(values("debt_to_income")).toEqual([(12 * 950) / 54_000, null, (12 * 1200) / 88_000]);
    expect(values("loan_to_income")).toEqual([0.2, null, 0.1]);

    const t = await sqliteStores();
    const store = createSqliteOnlineStore(path.join(dir, "online.db"));
    try {
      await materialize(repo, createFeatureRegistry(t.stores.metadata), store, {
        start: 0,
        end: Date.parse("2026-04-01T00:00:00Z"),
      });
      const online = await getOnlineFeatures(
        { repo, store, now: () => Date.parse("2026-04-01T00:00:00Z"), transform: createTransformLoader() },
        {
          features: featureService(repo, "loan_default_v1", "feature_service").features,
          entities: { applicant_id: [1, 2], loan_amount: [10_800, 8800] },
        },
      );
      // Rows 0 and 2 were asked at the time the online store was read.
      online.results.slice(1).forEach((r, j) => {
        const name = result.columns[3 + j] as string;
        expect(r.values, name).toEqual([values(name)[0], values(name)[2]]);
      });
    } finally {
      await store.close();
      await t.close();
    }
  });
});
