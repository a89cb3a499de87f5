import { readFileSync } from "node:fs";
import type { Column, Frame } from "../../src/data/frame.js";

/** A model fixture written by test/fixtures/models/make_fixtures.py with its runtime's scores. */
export interface ModelFixture {
  model: string;
  format: string;
  task: string;
  columns: Record<string, (number | string | null)[]>;
  expected: number[];
}

export const MODELS_DIR = new URL("../fixtures/models/", import.meta.url);

export function readFixture(model: string): ModelFixture {
  return JSON.parse(readFileSync(new URL(`${model}.expected.json`, MODELS_DIR), "utf8")) as ModelFixture;
}

export function modelPath(model: string): string {
  return new URL(model, MODELS_DIR).pathname;
}

/** Builds a Frame from the fixture's columns: numbers (null = missing) or strings (dictionary-encoded). */
export function fixtureFrame(f: ModelFixture): Frame {
  const names = Object.keys(f.columns);
  const nRows = f.columns[names[0] ?? ""]?.length ?? 0;
  const columns: Column[] = names.map((name) => {
    const vals = f.columns[name] ?? [];
    if (vals.some((v) => typeof v === "string")) {
      const dictionary: string[] = [];
      const index = new Map<string, number>();
      const codes = new Int32Array(nRows);
      const valid = new Uint8Array(nRows);
      vals.forEach((v, i) => {
        if (v === null) {
          codes[i] = -1;
          return;
        }
        const s = String(v);
        let k = index.get(s);
        if (k === undefined) {
          k = dictionary.length;
          dictionary.push(s);
          index.set(s, k);
        }
        codes[i] = k;
        valid[i] = 1;
      });
      return { kind: "categorical", name, codes, dictionary, valid };
    }
    const values = Float64Array.from(vals, (v) => (v === null ? NaN : Number(v)));
    const valid = Uint8Array.from(vals, (v) => (v === null ? 0 : 1));
    return { kind: "numeric", name, values, valid };
  });
  return { nRows, columns };
}

export function maxAbsDiff(a: Float64Array, b: readonly number[]): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return a.length === b.length ? m : Infinity;
}
