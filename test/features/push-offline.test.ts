import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readTable, withConnection, type Column } from "../../src/data/index.js";
import {
  createFeatureRegistry,
  createFeatureStore,
  createSqliteOnlineStore,
  getHistoricalFeatures,
  loadFeatureRepo,
  pushToOfflineStore,
  resolveFeatureRefs,
} from "../../src/features/index.js";
import { eventTime } from "../../src/monitoring/index.js";
import { rejected } from "../keel-error.js";
import { sqliteStores } from "../store/backends.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const dir = mkdtempSync(path.join(tmpdir(), "keel-push-offline-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PUSHED = {
  applicant_id: [2, 4],
  event_timestamp: ["2026-03-10T00:00:00Z", Date.parse("2026-03-12T00:00:00Z")],
  credit_score: [735, 610],
  annual_income: [90_000, 41_000],
  monthly_debt: [1000, 800],
  home_ownership: ["OWN", null],
};

function cells(c: Column): (number | string | null)[] {
  return c.kind === "numeric"
    ? Array.from(c.values, (v) => (Number.isNaN(v) ? null : v))
    : Array.from(c.codes, (k) => (k < 0 ? null : (c.dictionary[k] as string)));
}

/** The fixture repository in a folder of its own, its source a CSV or a Parquet copy of the fixture's. */
async function repoIn(format: "csv" | "parquet"): Promise<{ file: string; source: string }> {
  const sub = mkdtempSync(path.join(dir, `${format}-`));
  copyFileSync(path.join(FIXTURES, "ratios.ts"), path.join(sub, "ratios.ts"));
  const source = path.join(sub, `applicant_events.${format}`);
  if (format === "csv") copyFileSync(path.join(FIXTURES, "applicant_events.csv"), source);
  else {
    await withConnection((c) =>
      c.run(
        `COPY (SELECT * FROM read_csv('${path.join(FIXTURES, "applicant_events.csv")}')) TO '${source}' (FORMAT PARQUET)`,
      ),
    );
  }
  const yaml = readFileSync(path.join(FIXTURES, "loan-features.yaml"), "utf8").replace(
    "path: applicant_events.csv",
    `path: applicant_events.${format}`,
  );
  const file = path.join(sub, "features.yaml");
  writeFileSync(file, yaml);
  return { file, source };
}

describe("push to the offline store (the source file)", () => {
  for (const format of ["csv", "parquet"] as const) {
    it(`appends pushed rows to a ${format} source, where training sets find them point-in-time`, async () => {
      const { file, source } = await repoIn(format);
      const repo = await loadFeatureRepo(file);
      const pushedAt = Date.parse("2026-03-20T00:00:00Z");
      expect(await pushToOfflineStore(repo, "applicant_events", PUSHED, eventTime, pushedAt)).toBe(2);

      const rows = await readTable(source);
      expect(rows.nRows).toBe(7);
      const created = rows.columns.find((c) => c.name === "created") as Column;
      // Left out of the push: the created time is the push's, so a later push wins a tie.
      expect(cells(created).slice(5)).toEqual(["2026-03-20 00:00:00", "2026-03-20 00:00:00"]);

      const entityDf = path.join(path.dirname(file), "entities.csv");
      writeFileSync(
        entityDf,
        "applicant_id,event_timestamp\n2,2026-03-09T00:00:00\n2,2026-03-11T00:00:00\n4,2026-03-11T00:00:00\n4,2026-03-13T00:00:00\n1,2026-03-13T00:00:00\n",
      );
      const output = path.join(path.dirname(file), "train.csv");
      await getHistoricalFeatures(repo, {
        entityDf,
        features: resolveFeatureRefs(repo, ["applicant_features"], "features"),
        output,
      });
      const train = await readTable(output);
      const col = (name: string) => cells(train.columns.find((c) => c.name === name) as Column);
      expect(col("credit_score")).toEqual([720, 735, null, 610, 660]);
      expect(col("home_ownership")).toEqual(["MORTGAGE", "OWN", null, null, "RENT"]);
    });
  }

  it("checks every value and column before writing, and leaves the file as it was when one is wrong", async () => {
    const { file, source } = await repoIn("csv");
    const repo = await loadFeatureRepo(file);
    const before = readFileSync(source);
    const now = Date.parse("2026-03-20T00:00:00Z");
    const push = (df: Record<string, unknown>) => pushToOfflineStore(repo, "applicant_events", df, eventTime, now);
    const refusals = [
      await rejected(push({ ...PUSHED, credit_score: [735, 610.5] })),
      await rejected(push({ ...PUSHED, loan_amount: [1, 2] })),
      await rejected(push(Object.fromEntries(Object.entries(PUSHED).filter(([k]) => k !== "applicant_id")))),
    ];
    expect(refusals.map((e) => [e.code, e.message])).toEqual([
      ["INVALID_PARAMETER_VALUE", "df.credit_score[1] = 610.5: must be an integer or null (dtype int64)"],
      [
        "INVALID_PARAMETER_VALUE",
        'df.loan_amount = "(column)": must be a column of source applicant_events\'s file (columns: applicant_id, event_timestamp, created, credit_score, annual_income, monthly_debt, home_ownership)',
      ],
      ["INVALID_PARAMETER_VALUE", "df.applicant_id = null: must be an array of 2 values"],
    ]);
    expect(readFileSync(source)).toEqual(before);
  });

  it("the feature store's push writes where `to` says: online, offline, or both", async () => {
    const { file, source } = await repoIn("csv");
    const t = await sqliteStores();
    const registry = createFeatureRegistry(t.stores.metadata);
    await registry.apply(await loadFeatureRepo(file), { sourceFile: file, actor: "test" });
    const store = createFeatureStore({
      registry,
      online: createSqliteOnlineStore(path.join(path.dirname(file), "online.db")),
      clock: () => Date.parse("2026-03-20T00:00:00Z"),
      eventTime,
    });
    try {
      const score = async (id: number) =>
        (
          await store.getOnlineFeatures({
            features: ["applicant_features:credit_score"],
            entities: { applicant_id: [id] },
          })
        ).results[1]?.values[0];
      const rows = async () => (await readTable(source)).nRows;
      const one = (id: number, credit: number) => ({
        applicant_id: [id],
        event_timestamp: ["2026-03-15T00:00:00Z"],
        credit_score: [credit],
        annual_income: [50_000],
        monthly_debt: [700],
        home_ownership: ["RENT"],
      });
      expect(await store.push("applicant_events", one(5, 700), "offline")).toBe(1);
      expect([await rows(), await score(5)]).toEqual([6, null]);
      expect(await store.push("applicant_events", one(6, 710), "online")).toBe(1);
      expect([await rows(), await score(6)]).toEqual([6, 710]);
      expect(await store.push("applicant_events", one(7, 720), "online_and_offline")).toBe(1);
      expect([await rows(), await score(7)]).toEqual([7, 720]);
    } finally {
      await store.close();
      await t.close();
    }
  });
});
