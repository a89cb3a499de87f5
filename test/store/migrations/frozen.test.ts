import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dir = fileURLToPath(new URL("../../../src/store/migrations/", import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));

/** Every module specifier a file imports or re-exports from. */
function importsOf(source: string): string[] {
  return [...source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)].map((m) => m[1] as string);
}

// A migration that imported live store code (schema types, table builders) would change when the
// store changes, rewriting a step that databases have already run.
describe("migrations are frozen text", () => {
  it("finds the migration files", () => {
    expect(files).toContain("0001-core-tracking.ts");
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files.filter((f) => /^\d{4}-/.test(f)))("%s imports only kysely and the migration type", (file) => {
    const imports = importsOf(readFileSync(dir + file, "utf8"));
    expect(imports.length).toBeGreaterThan(0);
    for (const spec of imports) expect(["kysely", "./migration.js"]).toContain(spec);
  });

  it("index.ts imports only the migration type and the migration files", () => {
    const imports = importsOf(readFileSync(dir + "index.ts", "utf8"));
    for (const spec of imports) {
      expect(spec).toMatch(/^\.\/(migration|\d{4}-[a-z0-9-]+)\.js$/);
    }
    // Not vacuous: every migration file on disk is among them.
    const migrationFiles = files.filter((f) => /^\d{4}-/.test(f)).map((f) => `./${f.replace(/\.ts$/, ".js")}`);
    expect(migrationFiles.length).toBeGreaterThan(5);
    for (const f of migrationFiles) expect(imports).toContain(f);
  });

  it("recognises an import of store code", () => {
    expect(importsOf('import { createAlertTables } from "../alert-history-sql.js";\n')).toEqual([
      "../alert-history-sql.js",
    ]);
  });
});
