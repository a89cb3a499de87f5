import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DataIntegrityError } from "../../src/errors.js";
import type { ModelVersion } from "../../src/registry/types.js";
import { artifactModelLoader } from "../../src/serving/index.js";
import { fixture } from "./fixtures.js";

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/models");
const bytes = new Uint8Array(readFileSync(path.join(dir, "xgb_binary.json")));
const sha = createHash("sha256").update(bytes).digest("hex");
const version = (checksum: string) => ({ name: "credit", version: "1", checksum }) as ModelVersion;

describe("artifactModelLoader", () => {
  it("opens verified bytes and scores as XGBoost does", async () => {
    const load = artifactModelLoader(() => Promise.resolve(bytes));
    const p = await load(version(sha));
    const f = fixture("xgb_binary.json");
    const scores = await p.predict({
      nRows: 3,
      columns: ["a", "b", "c", "d", "e"].map((name) => ({
        kind: "numeric" as const,
        name,
        values: Float64Array.from([0, 1, 2], (i) => f.columns[name]?.[i] ?? NaN),
      })),
    });
    Array.from(scores).forEach((s, i) => expect(s).toBeCloseTo(f.expected[i] as number, 6));
    await p.close();
  });

  it("refuses bytes whose sha256 differs from the registered checksum", async () => {
    const load = artifactModelLoader(() => Promise.resolve(bytes));
    await expect(load(version("0".repeat(64)))).rejects.toBeInstanceOf(DataIntegrityError);
  });
});
