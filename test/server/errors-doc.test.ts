import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CATALOG } from "../../src/errors.js";

describe("docs/errors.md", () => {
  it("lists every code of the catalog with its HTTP status and MLflow code, and nothing else", () => {
    const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
    const rows = new Map<string, { status: number; mlflow: string }>();
    for (const line of doc.split("\n")) {
      const m = /^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|\s*`([A-Z_]+)`\s*\|/.exec(line);
      if (m !== null) rows.set(m[1]!, { status: Number(m[2]), mlflow: m[3]! });
    }
    const catalog = new Map(
      Object.entries(ERROR_CATALOG).map(([code, e]) => [code, { status: e.status, mlflow: e.mlflow }]),
    );
    expect(rows).toEqual(catalog);
  });
});
