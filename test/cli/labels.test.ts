import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { categoricalFromStrings, numericColumn, writeTable } from "../../src/data/index.js";
import { openStores } from "../../src/open-stores.js";
import { DAY, T0, direct, loanLog, type LoggedLoan } from "../monitoring/loan-log.js";
import { keel } from "./helpers.js";

const AS_OF = T0 + 40 * DAY;

describe("keel labels ingest / report on the local store", () => {
  let dir: string;
  let env: Record<string, string>;
  let log: LoggedLoan[];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-cli-labels-"));
    env = { KEEL_DATA_DIR: dir };
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    await stores.migrate();
    log = loanLog({ seed: 31, days: 40, perDay: 15 });
    await stores.inferenceLog.append(
      log.map((l) => l.record),
      { durability: "sync" },
    );
    await stores.close();
    // request-id labels as CSV with text outcomes; entity labels as Parquet with ISO-8601 times
    const byRequest = log.filter((l) => l.labelledBy === "request");
    writeFileSync(
      path.join(dir, "by-request.csv"),
      [
        "request_id,outcome",
        ...byRequest.map((l) => `${l.record.requestId},${l.outcome === 1 ? "default" : "repaid"}`),
      ].join("\n"),
    );
    const byEntity = log.filter((l) => l.labelledBy === "entity");
    await writeTable(
      {
        nRows: byEntity.length,
        columns: [
          categoricalFromStrings(
            "applicant",
            byEntity.map((l) => l.record.entityId ?? null),
          ),
          categoricalFromStrings(
            "event_time",
            byEntity.map((l) => new Date(l.labelTime as number).toISOString()),
          ),
          numericColumn(
            "defaulted",
            Float64Array.from(byEntity, (l) => l.outcome),
          ),
        ],
      },
      path.join(dir, "by-entity.parquet"),
    );
    writeFileSync(path.join(dir, "bad.csv"), "request_id,outcome\nloans-req-0,1\nloans-req-1,maybe\n");
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("ingests CSV and Parquet labels, reports metrics equal to a direct computation, and records them", async () => {
    const csv = await keel(
      [
        "labels",
        "ingest",
        path.join(dir, "by-request.csv"),
        "--request-id-column",
        "request_id",
        "--label-column",
        "outcome",
        "--positive",
        "default",
      ],
      env,
    );
    expect(csv.stderr).toBe("");
    expect(csv.code).toBe(0);
    const nRequest = log.filter((l) => l.labelledBy === "request").length;
    expect(csv.stdout.trim()).toBe(
      `ingested ${nRequest} labels from ${path.join(dir, "by-request.csv")}: ${nRequest} new, 0 changed, 0 unchanged; ${nRequest} matched a logged prediction, 0 unmatched`,
    );
    const parquet = await keel(
      [
        "--json",
        "labels",
        "ingest",
        path.join(dir, "by-entity.parquet"),
        "--entity-column",
        "applicant",
        "--time-column",
        "event_time",
        "--label-column",
        "defaulted",
      ],
      env,
    );
    expect(parquet.code).toBe(0);
    const nEntity = log.filter((l) => l.labelledBy === "entity").length;
    expect(JSON.parse(parquet.stdout)).toEqual({
      received: nEntity,
      inserted: nEntity,
      updated: 0,
      unchanged: 0,
      matched: nEntity,
      unmatched: 0,
    });

    const report = await keel(
      [
        "--json",
        "labels",
        "report",
        "--model",
        "loans",
        "--window",
        "30d",
        "--segment",
        "region",
        "--as-of",
        new Date(AS_OF).toISOString(),
      ],
      env,
    );
    expect(report.code).toBe(0);
    const json = JSON.parse(report.stdout) as {
      overall: { auc: number; precision: number; labelled: number };
      versions: { model_version: string; routes: string[]; auc: number }[];
      fairness: { column: string };
    };
    const want = direct(log.filter((l) => l.record.time >= AS_OF - 30 * DAY && l.record.time < AS_OF));
    expect(json.overall.labelled).toBe(want.labelled);
    expect(json.overall.auc).toBeCloseTo(want.auc!, 12);
    expect(json.overall.precision).toBeCloseTo(want.precision!, 12);
    expect(json.fairness.column).toBe("region");
    // one version served: its own figures are the pooled ones
    expect(json.versions.map((v) => [v.model_version, v.routes])).toEqual([["1", ["champion"]]]);
    expect(json.versions[0]?.auc).toBeCloseTo(want.auc!, 12);

    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    try {
      const auc = await stores.observations.query({ modelName: "loans", metric: "auc_30d" });
      expect(auc.filter((o) => o.segment === undefined).map((o) => [o.modelVersion, o.value])).toEqual([
        [undefined, json.overall.auc],
        ["1", json.overall.auc],
      ]);
      expect((await stores.observations.query({ modelName: "loans", kind: "fairness" })).length).toBe(2);
    } finally {
      await stores.close();
    }

    const human = await keel(["labels", "report", "--model", "loans", "--as-of", String(AS_OF)], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^loans: 7d window .* \(threshold 0\.5\)\n/);
    expect(human.stdout).toContain("decision rate:");
  }, 120_000);

  it("fails with exit code 2 (invalid input) and one readable line", async () => {
    const bad = await keel(
      ["labels", "ingest", path.join(dir, "bad.csv"), "--request-id-column", "request_id", "--label-column", "outcome"],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain('row 2 outcome = "maybe": must be 0 or 1');
    const noColumn = await keel(
      ["labels", "ingest", path.join(dir, "bad.csv"), "--request-id-column", "request_id", "--label-column", "label"],
      env,
    );
    expect(noColumn.code).toBe(2);
    expect(noColumn.stderr.trim()).toBe(
      'error: --label-column = "label": must name a column of the file (columns: request_id, outcome)',
    );
    const badWindow = await keel(["labels", "report", "--model", "loans", "--window", "month"], env);
    expect(badWindow.code).toBe(2);
    expect(badWindow.stderr.trim()).toMatch(
      /^error: --window = "month": must be a number of minutes, hours or days such as 4h/,
    );
  }, 120_000);
});
