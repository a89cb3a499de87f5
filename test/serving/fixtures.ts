import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadPredictor } from "../../src/learn/load-model.js";
import type { ModelLoader } from "../../src/serving/index.js";

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/models");

/** A fixture model with XGBoost's own scores for its 200 rows (the independent reference). */
export interface Fixture {
  readonly file: string;
  readonly columns: Record<string, (number | null)[]>;
  readonly expected: number[];
  row(i: number): Record<string, number | null>;
}

export function fixture(name: string): Fixture {
  const file = path.join(FIXTURES, name);
  const e = JSON.parse(readFileSync(`${file}.expected.json`, "utf8")) as {
    columns: Record<string, (number | null)[]>;
    expected: number[];
  };
  return {
    file,
    columns: e.columns,
    expected: e.expected,
    row: (i) => Object.fromEntries(Object.entries(e.columns).map(([k, v]) => [k, v[i] ?? null])),
  };
}

/** Loads a version straight from its `source` path (the fixtures are registered by path). */
export const fixtureLoader: ModelLoader = async (mv) => loadPredictor(new Uint8Array(await readFile(mv.source)));
