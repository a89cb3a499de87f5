import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulberry32, type Column, type Frame } from "../../src/data/index.js";
import { createFeatureRegistry, loadFeatureRepo } from "../../src/features/index.js";
import { openStores, type Stores } from "../../src/open-stores.js";
import { runPipelineFile, type RegisteredVersion } from "../../src/pipeline/index.js";

const FEATURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../features/fixtures");
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const APPLICANTS = 600;

let dir: string;
let stores: Stores;
/** Per applicant, written out by the generator: the credit score a point-in-time join must find. */
const expected = new Map<string, { credit: number | null; dti: number | null }>();
/** Per applicant, when the labelled application was made (the entity row's event time). */
const askedAt = new Map<string, number>();

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "");
}

/**
 * Two feature rows per applicant, 30 days apart, and one labelled application each, asked before
 * the first row (no features), between the two (the first) or after the second (the second).
 */
function writeData(): void {
  const rand = mulberry32(5);
  const events = ["applicant_id,event_timestamp,created,credit_score,annual_income,monthly_debt,home_ownership"];
  const labels = ["applicant_id,event_timestamp,loan_amount,default"];
  for (let id = 1; id <= APPLICANTS; id++) {
    const rows = [0, 30].map((d) => ({
      ts: T0 + d * DAY,
      credit: Math.round(450 + 350 * rand()),
      income: Math.round(30_000 + 90_000 * rand()),
      debt: Math.round(300 + 2000 * rand()),
    }));
    for (const r of rows) events.push(`${id},${iso(r.ts)},${iso(r.ts)},${r.credit},${r.income},${r.debt},RENT`);
    const when = rand();
    const asked = when < 0.1 ? T0 - DAY : when < 0.55 ? T0 + 10 * DAY : T0 + 40 * DAY;
    const row = asked < T0 ? undefined : asked < T0 + 30 * DAY ? rows[0] : rows[1];
    askedAt.set(String(id), asked);
    expected.set(String(id), {
      credit: row?.credit ?? null,
      dti: row === undefined ? null : (12 * row.debt) / row.income,
    });
    const risk = row === undefined ? 0.3 : row.credit < 600 ? 0.7 : 0.1;
    labels.push(`${id},${iso(asked)},${Math.round(2000 + 20_000 * rand())},${rand() < risk ? 1 : 0}`);
  }
  writeFileSync(path.join(dir, "applicant_events.csv"), events.join("\n") + "\n");
  writeFileSync(path.join(dir, "labels.csv"), labels.join("\n") + "\n");
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "keel-training-set-"));
  stores = openStores({
    backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
    artifactRoot: path.join(dir, "art"),
  });
  await stores.migrate();
  writeData();
  copyFileSync(path.join(FEATURES, "ratios.ts"), path.join(dir, "ratios.ts"));
  copyFileSync(path.join(FEATURES, "loan-features.yaml"), path.join(dir, "features.yaml"));
  const repo = await loadFeatureRepo(path.join(dir, "features.yaml"));
  await createFeatureRegistry(stores.metadata).apply(repo, { sourceFile: "features.yaml", actor: "test" });
  writeFileSync(
    path.join(dir, "pipeline.json"),
    JSON.stringify({
      name: "loans-from-features",
      trainingSet: { featureService: "loan_default_v1", entityDf: "labels.csv" },
      target: "default",
      positive: "1",
      idColumn: "applicant_id",
      split: { kind: "random", validFraction: 0.25, seed: 1 },
      train: { model: "gbdt", params: { n_estimators: 20, max_depth: 3 } },
      gates: [],
      register: { model: "loans" },
    }),
  );
});

afterAll(async () => {
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

function cells(c: Column | undefined): (number | string | null)[] {
  if (c === undefined) return [];
  return c.kind === "numeric"
    ? Array.from(c.values, (v) => (Number.isNaN(v) ? null : v))
    : Array.from(c.codes, (k) => (k < 0 ? null : (c.dictionary[k] as string)));
}

describe("a pipeline naming a feature service", () => {
  it("trains on the point-in-time training set and records the feature service and repository version", async () => {
    let registered: RegisteredVersion | undefined;
    const result = await runPipelineFile(
      path.join(dir, "pipeline.json"),
      {
        tracking: stores.tracking,
        registry: stores.registry,
        artifacts: stores.artifacts,
        features: createFeatureRegistry(stores.metadata),
      },
      {
        codeVersion: "0".repeat(40),
        onRegistered: (r) => {
          registered = r;
          return Promise.resolve();
        },
      },
    );
    expect(result.status).toBe("passed");
    expect(result.lineage).toMatchObject({
      featureService: "loan_default_v1",
      featureRepoVersion: 1,
      dataPath: path.join(dir, "labels.csv"),
    });

    const mv = await stores.registry.getModelVersion("loans", result.registered?.version as string);
    expect(mv.lineage).toMatchObject({ featureService: "loan_default_v1", featureRepoVersion: "1" });
    // The service's features and the request field are the inputs; the event time and the label are not.
    expect(mv.signature?.inputs.map((c) => c.name).sort()).toEqual(
      [
        "annual_income",
        "credit_score",
        "debt_to_income",
        "home_ownership",
        "loan_amount",
        "loan_to_income",
        "monthly_debt",
      ].sort(),
    );

    // Every training row holds its applicant's features as of the application, never later ones.
    const training = registered?.training as Frame;
    const ids = cells(training.columns.find((c) => c.name === "applicant_id"));
    const credit = cells(training.columns.find((c) => c.name === "credit_score"));
    const dti = cells(training.columns.find((c) => c.name === "debt_to_income"));
    expect(ids.length).toBe(Math.round(APPLICANTS * 0.75));
    ids.forEach((id, i) => {
      const want = expected.get(String(id));
      expect(credit[i]).toBe(want?.credit);
      if (want?.dti === null) expect(dti[i]).toBeNull();
      else expect(dti[i]).toBeCloseTo(want?.dti as number, 12);
    });
    expect(credit.filter((c) => c === null).length).toBeGreaterThan(0);
    // The feature file is untouched: the training set is built from it, not written into it.
    expect(readFileSync(path.join(dir, "applicant_events.csv"), "utf8").split("\n").length).toBe(2 * APPLICANTS + 2);
  });

  it("takes a training window over the entity rows' event time: only the last 20 days' applications", async () => {
    const now = T0 + 45 * DAY;
    const file = path.join(dir, "windowed.json");
    const def = JSON.parse(readFileSync(path.join(dir, "pipeline.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...def, name: "loans-window", window: { last: "20d" } }));
    let registered: RegisteredVersion | undefined;
    const deps = {
      tracking: stores.tracking,
      registry: stores.registry,
      artifacts: stores.artifacts,
      features: createFeatureRegistry(stores.metadata),
      clock: () => now,
    };
    const result = await runPipelineFile(file, deps, {
      codeVersion: "0".repeat(40),
      onRegistered: (r) => {
        registered = r;
        return Promise.resolve();
      },
    });
    expect(result.failure ?? "").toBe("");
    const inWindow = [...askedAt].filter(([, t]) => t >= now - 20 * DAY && t < now).map(([id]) => id);
    expect(inWindow.length).toBeGreaterThan(100);
    expect(inWindow.length).toBeLessThan(APPLICANTS * 0.6);
    expect(result.split!.trainRows + result.split!.validRows).toBe(inWindow.length);
    // each training row is an application of the window, with its features as of then
    const training = registered?.training as Frame;
    const ids = cells(training.columns.find((c) => c.name === "applicant_id")).map(String);
    const credit = cells(training.columns.find((c) => c.name === "credit_score"));
    const window = new Set(inWindow);
    expect(ids.every((id) => window.has(id))).toBe(true);
    ids.forEach((id, i) => expect(credit[i]).toBe(expected.get(id)?.credit));

    // a window over another column, or one that leaves nothing, is refused naming the field
    writeFileSync(file, JSON.stringify({ ...def, window: { column: "loan_amount", last: "20d" } }));
    await expect(runPipelineFile(file, deps)).rejects.toThrow(
      "window.column = \"loan_amount\": a trainingSet's window is over its entity rows' event_timestamp",
    );
    writeFileSync(file, JSON.stringify({ ...def, window: { last: "1d" } }));
    await expect(runPipelineFile(file, deps)).rejects.toThrow('window.last = "1d": leaves no rows of labels.csv');
  });

  it("refuses a definition giving both a data file and a training set, naming the rule", async () => {
    const file = path.join(dir, "both.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "x",
        data: "labels.csv",
        trainingSet: { featureService: "loan_default_v1", entityDf: "labels.csv" },
        target: "default",
        register: { model: "x" },
      }),
    );
    await expect(
      runPipelineFile(file, { tracking: stores.tracking, registry: stores.registry, artifacts: stores.artifacts }),
    ).rejects.toThrow('data = "labels.csv": give exactly one of data (a file) or trainingSet (a feature service)');
  });
});
