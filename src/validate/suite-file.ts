import path from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidParameterError } from "../errors.js";
import { readSpecFile } from "../spec-fields.js";

/**
 * Reads a suite file as it is written, before `parseSuite`: JSON, or a JavaScript / TypeScript
 * module whose default export (or export named `suite`) is the suite object. TypeScript modules
 * need a TypeScript-aware runtime (tsx) on Node 20. `field` names the flag or field that gave the
 * path, for the error message.
 */
export async function readSuiteFile(file: string, field: string): Promise<unknown> {
  const ext = path.extname(file).toLowerCase();
  if ([".js", ".mjs", ".ts", ".mts"].includes(ext)) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(path.resolve(file)).href)) as Record<string, unknown>;
    } catch (cause) {
      throw new InvalidParameterError(
        `${field}: file ${file} cannot be imported (${cause instanceof Error ? cause.message : String(cause)})`,
        { cause, details: { field, value: file, rule: "an importable module exporting the suite" } },
      );
    }
    const suite = mod.default ?? mod.suite;
    if (suite === undefined) {
      throw new InvalidParameterError(`${field}: module ${file} exports no suite`, {
        details: { field, value: file, rule: "export the suite as default or as `suite`" },
      });
    }
    return suite;
  }
  return readSpecFile(file, (json) => json);
}
