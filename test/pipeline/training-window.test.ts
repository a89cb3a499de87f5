import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { categoricalFromStrings, generateLoanApplications, readTable, writeTable } from "../../src/data/index.js";
import { KeelError } from "../../src/errors.js";
import {
  TRAINING_DATA_TAGS,
  runPipeline,
  windowStart,
  type PipelineDefinitionInput,
} from "../../src/pipeline/index.js";
import { loadReferenceProfile } from "../../src/monitoring/index.js";
import { sqliteStores, type TestStores } from "../store/backends.js";

const DAY = 86_400_000;
/** The first run: 2024-07-15T12:00Z. */
const NOW = Date.UTC(2024, 6, 15, 12);
const ROWS = 4000;
/** Row i applied i / 10 days before NOW (a year of applications, newest first). */
const appliedAt = (i: number) => NOW - Math.floor((i * DAY) / 10);
const iso = (t: number) => new Date(t).toISOString();

let t: TestStores | undefined;
const dir = mkdtempSync(path.join(tmpdir(), "keel-training-window-"));
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

function definition(): PipelineDefinitionInput {
  return {
    name: "loans-window",
    data: "applications.csv",
    window: { column: "applied_at", last: "3mo" },
    target: "default",
    positive: "1",
    idColumn: "applicant_id",
    train: { model: "gbdt", params: { n_estimators: 20, max_depth: 3, scale_pos_weight: 3 } },
    gates: [],
    register: { model: "loans-window", keepTrainingData: 1, segments: ["home_ownership"] },
  };
}

describe("retraining on a window of fresh data", () => {
  it("trains on the last 3 months before the run, keeps those exact bytes with the version, and expires older versions' data", async () => {
    let now = NOW;
    t = await sqliteStores({ clock: () => now });
    const { stores } = t;
    const frame = generateLoanApplications({ rows: ROWS, seed: 3, driftMonths: 0 });
    const times = Array.from({ length: ROWS }, (_, i) => iso(appliedAt(i)));
    await writeTable(
      { nRows: ROWS, columns: [...frame.columns, categoricalFromStrings("applied_at", times)] },
      path.join(dir, "applications.csv"),
    );
    const deps = {
      tracking: stores.tracking,
      registry: stores.registry,
      artifacts: stores.artifacts,
      clock: () => now,
    };

    const run = async () => {
      const r = await runPipeline(definition(), deps, { baseDir: dir });
      expect(r.failure ?? "").toBe("");
      const mv = await stores.registry.getModelVersion("loans-window", r.registered!.version);
      const tag = (key: string) => mv.tags.find((x) => x.key === key)?.value;
      return { r, mv, file: tag(TRAINING_DATA_TAGS.path)!, sha: tag(TRAINING_DATA_TAGS.sha256)! };
    };

    const first = await run();
    // The window counted here: three calendar months back from 2024-07-15T12:00Z is 2024-04-15T12:00Z.
    const start = Date.UTC(2024, 3, 15, 12);
    expect(windowStart("3mo", NOW)).toBe(start);
    const inWindow = times.filter((s) => Date.parse(s) >= start && Date.parse(s) < NOW);
    expect(first.r.split!.trainRows + first.r.split!.validRows).toBe(inWindow.length);

    // The exact bytes, reached from the version: their sha256 is the lineage's data hash.
    const bytes = await stores.artifacts.getFile(first.file);
    const sha = createHash("sha256").update(bytes).digest("hex");
    expect(sha).toBe(first.sha);
    expect(first.mv.lineage?.dataHash).toBe(sha);
    writeFileSync(path.join(dir, "kept.csv"), bytes);
    const kept = await readTable(path.join(dir, "kept.csv"));
    expect(kept.nRows).toBe(inWindow.length);
    const keptTimes = kept.columns.find((c) => c.name === "applied_at")!;
    expect(keptTimes.kind === "categorical" ? keptTimes.dictionary.length : 0).toBe(inWindow.length);
    // the window's column placed rows in time; it is not a feature of the model
    expect(first.mv.signature?.inputs.map((c) => c.name)).not.toContain("applied_at");

    // register.segments: the version's reference profile has one profile per home_ownership value,
    // over exactly the training rows holding it
    const profile = await loadReferenceProfile(stores, "loans-window", first.r.registered!.version);
    expect(profile.rows).toBe(first.r.split!.trainRows);
    const ownership = profile.features.find((f) => f.name === "home_ownership");
    if (ownership?.kind !== "categorical") throw new Error("home_ownership is not a categorical input");
    const present = ownership.categories.filter((_, i) => ownership.counts[i]! > 0).sort();
    expect(profile.segments?.map((g) => [g.column, g.value])).toEqual(present.map((v) => ["home_ownership", v]));
    for (const g of profile.segments ?? []) {
      expect(g.profile.rows, g.value).toBe(ownership.counts[ownership.categories.indexOf(g.value)]);
      expect(g.profile.prediction?.count, g.value).toBe(g.profile.rows);
    }

    // Forty days later the same file gives a later window: other rows, other bytes, a new version.
    now = NOW + 40 * DAY;
    const second = await run();
    expect(second.sha).not.toBe(first.sha);
    const later = times.filter((s) => Date.parse(s) >= windowStart("3mo", now) && Date.parse(s) < now);
    expect(second.r.split!.trainRows + second.r.split!.validRows).toBe(later.length);
    const secondBytes = await stores.artifacts.getFile(second.file);
    expect(createHash("sha256").update(secondBytes).digest("hex")).toBe(second.sha);

    // keepTrainingData: 1 — the first version's data is gone, and its version says so.
    await expect(stores.artifacts.getFile(first.file)).rejects.toBeInstanceOf(KeelError);
    const v1 = await stores.registry.getModelVersion("loans-window", first.r.registered!.version);
    expect(v1.tags.find((x) => x.key === TRAINING_DATA_TAGS.expired)?.value).toBe(iso(now));
  });

  it("refuses a window it cannot read, naming the field", async () => {
    const deps = { tracking: t!.stores.tracking, registry: t!.stores.registry, artifacts: t!.stores.artifacts };
    await expect(
      runPipeline({ ...definition(), window: { column: "applied_at", last: "3 months" } }, deps, { baseDir: dir }),
    ).rejects.toThrow('window.last = "3 months": must be a number of days or months, such as 90d or 6mo');
    await expect(
      runPipeline({ ...definition(), window: { column: "applied", last: "90d" } }, deps, { baseDir: dir }),
    ).rejects.toThrow("window.column");
  });
});
