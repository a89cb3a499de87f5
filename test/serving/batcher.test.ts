import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/frame.js";
import { concatFrames, MicroBatcher } from "../../src/serving/batcher.js";

/** Score = x * 10 + code of the category, computed independently of the batcher. */
function frameOf(xs: number[], cats: string[]): Frame {
  const dictionary = [...new Set(cats)];
  return {
    nRows: xs.length,
    columns: [
      { kind: "numeric", name: "x", values: Float64Array.from(xs) },
      { kind: "categorical", name: "c", codes: Int32Array.from(cats.map((c) => dictionary.indexOf(c))), dictionary },
    ],
  };
}
const LETTERS = ["a", "b", "c", "d"];
function expected(xs: number[], cats: string[]): number[] {
  return xs.map((x, i) => x * 10 + LETTERS.indexOf(cats[i] as string));
}
async function model(frame: Frame): Promise<Float64Array> {
  await new Promise((r) => setTimeout(r, 1));
  const [x, c] = frame.columns;
  if (x?.kind !== "numeric" || c?.kind !== "categorical") throw new Error("bad frame");
  const out = new Float64Array(frame.nRows);
  for (let i = 0; i < frame.nRows; i++) {
    if (x.values[i] === -1) throw new Error("poison row");
    out[i] = (x.values[i] as number) * 10 + LETTERS.indexOf(c.dictionary[c.codes[i] as number] as string);
  }
  return out;
}

describe("MicroBatcher", () => {
  it("gives each of hundreds of concurrent mixed-size requests exactly its own answers", async () => {
    const batches: number[] = [];
    const b = new MicroBatcher(model, { maxBatchSize: 64, maxLatencyMs: 0, onBatch: (n) => batches.push(n) });
    const requests = Array.from({ length: 400 }, (_, r) => {
      const n = 1 + (r % 7 === 0 ? 90 : r % 5); // some requests larger than maxBatchSize
      const xs = Array.from({ length: n }, (_, i) => r * 1000 + i);
      const cats = xs.map((_, i) => LETTERS[(r + i) % 4] as string);
      return { xs, cats };
    });
    const answers = await Promise.all(requests.map((q) => b.submit(frameOf(q.xs, q.cats))));
    answers.forEach((a, r) => expect(Array.from(a)).toEqual(expected(requests[r]!.xs, requests[r]!.cats)));
    expect(batches.length).toBeLessThan(requests.length / 2); // requests were actually merged
    expect(batches.reduce((s, n) => s + n, 0)).toBe(requests.reduce((s, q) => s + q.xs.length, 0));
    for (const n of batches) expect(n <= 64 || n === 91).toBe(true);
    await b.idle();
  });

  it("fails only the request whose rows break the model", async () => {
    const b = new MicroBatcher(model, { maxBatchSize: 100, maxLatencyMs: 0 });
    const results = await Promise.allSettled([
      b.submit(frameOf([1], ["a"])),
      b.submit(frameOf([-1], ["b"])),
      b.submit(frameOf([3, 4], ["c", "d"])),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(results[2]?.status === "fulfilled" && Array.from(results[2].value)).toEqual([32, 43]);
  });

  it("waits up to maxLatencyMs to fill a batch", async () => {
    const batches: number[] = [];
    const b = new MicroBatcher(model, { maxBatchSize: 100, maxLatencyMs: 30, onBatch: (n) => batches.push(n) });
    const first = b.submit(frameOf([1], ["a"]));
    await new Promise((r) => setTimeout(r, 5));
    const second = b.submit(frameOf([2], ["b"]));
    expect(Array.from(await first)).toEqual([10]);
    expect(Array.from(await second)).toEqual([21]);
    expect(batches).toEqual([2]);
  });
});

describe("concatFrames", () => {
  it("merges different dictionaries and null masks", () => {
    const a: Frame = {
      nRows: 2,
      columns: [
        { kind: "categorical", name: "c", codes: Int32Array.of(0, -1), dictionary: ["x"], valid: Uint8Array.of(1, 0) },
      ],
    };
    const b: Frame = {
      nRows: 1,
      columns: [{ kind: "categorical", name: "c", codes: Int32Array.of(1), dictionary: ["x", "y"] }],
    };
    const m = concatFrames([a, b], 3);
    const c = m.columns[0];
    expect(c?.kind === "categorical" && c.dictionary).toEqual(["x", "y"]);
    expect(c?.kind === "categorical" && Array.from(c.codes)).toEqual([0, -1, 1]);
    expect(Array.from(c?.valid ?? [])).toEqual([1, 0, 1]);
  });
});
