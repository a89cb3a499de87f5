import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readTable } from "../../src/data/index.js";
import { batchScore } from "../../src/learn/batch-score.js";
import { InvalidStateError } from "../../src/errors.js";
import { modelPath, readFixture } from "./fixture-frame.js";

/** The XGBoost fixture's rows (with missing values) as a CSV with an id column; scores from xgboost itself. */
const fx = readFixture("xgb_binary.json");
const dir = mkdtempSync(path.join(tmpdir(), "keel-batch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const names = Object.keys(fx.columns);
const nRows = fx.expected.length;
const lines = [["applicant_id", ...names].join(",")];
for (let i = 0; i < nRows; i++) {
  lines.push([`A${String(i).padStart(5, "0")}`, ...names.map((n) => String(fx.columns[n]?.[i] ?? ""))].join(","));
}
const input = path.join(dir, "input.csv");
writeFileSync(input, lines.join("\n") + "\n");
const model = modelPath("xgb_binary.json");

async function outputScores(file: string): Promise<{ ids: string[]; scores: Float64Array }> {
  const out = await readTable(file);
  const id = out.columns.find((c) => c.name === "applicant_id");
  const score = out.columns.find((c) => c.name === "score");
  if (id?.kind !== "categorical" || score?.kind !== "numeric") throw new Error("output columns missing");
  return { ids: Array.from(id.codes, (c) => id.dictionary[c] ?? ""), scores: score.values };
}

describe("batchScore", () => {
  it("scores a CSV in chunks, keeps the id column, matches xgboost", async () => {
    const output = path.join(dir, "scores.csv");
    const seen: number[] = [];
    const r = await batchScore({
      modelPath: model,
      inputPath: input,
      outputPath: output,
      chunkSize: 37,
      onProgress: (d) => seen.push(d),
    });
    expect(r).toMatchObject({
      status: "completed",
      rows: nRows,
      chunks: Math.ceil(nRows / 37),
      chunksScored: 6,
      chunksReused: 0,
      idColumn: "applicant_id",
    });
    expect(seen.at(-1)).toBe(nRows);
    const { ids, scores } = await outputScores(output);
    expect(ids[0]).toBe("A00000");
    expect(ids[nRows - 1]).toBe(`A${String(nRows - 1).padStart(5, "0")}`);
    for (let i = 0; i < nRows; i++) expect(Math.abs((scores[i] ?? NaN) - (fx.expected[i] ?? NaN))).toBeLessThan(1e-6);
    expect(existsSync(`${output}.parts`)).toBe(false);
  });

  it("resumes an interrupted job without rescoring finished chunks", async () => {
    const output = path.join(dir, "resumed.parquet");
    const abort = new AbortController();
    const first = await batchScore({
      modelPath: model,
      inputPath: input,
      outputPath: output,
      chunkSize: 50,
      signal: abort.signal,
      onProgress: (d) => {
        if (d >= 100) abort.abort();
      },
    });
    expect(first).toMatchObject({ status: "interrupted", chunksScored: 2 });
    const manifest = JSON.parse(readFileSync(`${output}.parts/manifest.json`, "utf8")) as { completed: number[] };
    expect(manifest.completed).toEqual([0, 1]);
    expect(existsSync(output)).toBe(false);

    // Without --resume an unfinished job is not overwritten; a different chunk size cannot resume it.
    await expect(batchScore({ modelPath: model, inputPath: input, outputPath: output, chunkSize: 50 })).rejects.toThrow(
      InvalidStateError,
    );
    await expect(
      batchScore({ modelPath: model, inputPath: input, outputPath: output, chunkSize: 40, resume: true }),
    ).rejects.toThrow(/chunk size was 50, now 40/);

    // Mark finished chunk 1 so the output shows whether it was reused or rescored.
    writeFileSync(`${output}.parts/chunk-000001.f64`, Buffer.from(new Float64Array(50).fill(0.125).buffer));
    const second = await batchScore({
      modelPath: model,
      inputPath: input,
      outputPath: output,
      chunkSize: 50,
      resume: true,
    });
    expect(second).toMatchObject({ status: "completed", chunksReused: 2, chunksScored: 2 });
    const { scores } = await outputScores(output);
    expect(scores[50]).toBe(0.125);
    expect(scores[99]).toBe(0.125);
    expect(Math.abs((scores[0] ?? NaN) - (fx.expected[0] ?? NaN))).toBeLessThan(1e-6);
    expect(Math.abs((scores[150] ?? NaN) - (fx.expected[150] ?? NaN))).toBeLessThan(1e-6);
  });
});
