import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidParameterError, NotFoundError } from "../src/errors.js";
import { inSpecFile, readSpecFile, specError, specNumber, specObject, specOneOf } from "../src/spec-fields.js";
import { rejected, thrown } from "./keel-error.js";

const dir = mkdtempSync(join(tmpdir(), "keel-spec-fields-"));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const parseWorkers = (json: unknown) =>
  specNumber(specObject(json, "spec", ["workers"]), "workers", "spec", { integer: true, min: 1 });

describe("readSpecFile", () => {
  it("reads JSON and YAML by extension and hands the document to the parser", async () => {
    expect(await readSpecFile(file("a.json", '{"workers": 2}'), parseWorkers)).toBe(2);
    expect(await readSpecFile(file("a.yaml", "workers: 3\n"), parseWorkers)).toBe(3);
  });

  it("names the file in front of field = value: rule, keeping the error's class and details", async () => {
    const path = file("b.json", '{"workers": 0}');
    const e = await rejected(readSpecFile(path, parseWorkers), InvalidParameterError);
    expect(e.message).toBe(`${path}: spec.workers = 0: must be an integer, ≥ 1`);
    expect(e.details).toEqual({ field: "spec.workers", value: 0, rule: "must be an integer, ≥ 1", file: path });
    const missing = () =>
      inSpecFile("c.json", () => {
        throw new NotFoundError("model m does not exist");
      });
    expect(thrown(missing, NotFoundError).message).toBe("c.json: model m does not exist");
  });

  it("says when the file cannot be read or is not JSON / YAML, on one line", async () => {
    const absent = join(dir, "absent.json");
    expect((await rejected(readSpecFile(absent, parseWorkers), InvalidParameterError)).message).toBe(
      `${absent}: cannot be read`,
    );
    const bad = file("bad.json", "{\n  workers: 2\n}");
    expect((await rejected(readSpecFile(bad, parseWorkers))).message).toMatch(
      new RegExp(`^${bad}: not valid JSON \\([^\\n]+\\)$`),
    );
    const badYaml = file("bad.yml", "workers: [1\n");
    expect((await rejected(readSpecFile(badYaml, parseWorkers))).message).toMatch(/: not valid YAML \(/);
  });
});

describe("spec fields", () => {
  it("specOneOf takes a value of the list and names the list otherwise", () => {
    expect(specOneOf({ audit: "sync" }, "audit", "log", ["sync", "async"] as const)).toBe("sync");
    expect(specOneOf({}, "audit", "log", ["sync", "async"] as const)).toBeUndefined();
    expect(() => specOneOf({ audit: "later" }, "audit", "log", ["sync", "async"] as const)).toThrow(
      'log.audit = "later": must be one of sync, async',
    );
  });

  it("specError quotes a long value cut to 100 characters, never the whole of it", () => {
    const e = specError("inputs[0].data", "x".repeat(1_000_000), "must be an array");
    expect(e.message).toBe(`inputs[0].data = "${"x".repeat(96)}...: must be an array`);
    expect(e.details).toEqual({ field: "inputs[0].data", value: `"${"x".repeat(96)}...`, rule: "must be an array" });
    expect(specError("n", 1.5, "must be an integer").details).toEqual({
      field: "n",
      value: 1.5,
      rule: "must be an integer",
    });
  });

  it("specObject at the root names unknown fields bare", () => {
    expect(() => specObject({ delay: 5 }, "", ["models"])).toThrow("delay = 5: unknown field; allowed: models");
    expect(() => specObject([], "", ["models"])).toThrow("(root) = []: must be an object");
  });
});
