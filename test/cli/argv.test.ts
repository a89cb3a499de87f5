import { describe, expect, it } from "vitest";
import { commandWord, readsDataFiles } from "../../src/cli/argv.js";

describe("commandWord", () => {
  it("skips global options and their values", () => {
    expect(commandWord(["--data-dir", "x", "--json", "drift", "--reference", "a"])).toBe("drift");
    expect(commandWord(["--tracking-uri", "http://h", "models", "get", "m"])).toBe("models");
  });
  it("reads `help X` as X and finds nothing in bare options", () => {
    expect(commandWord(["help", "train"])).toBe("train");
    expect(commandWord(["--help"])).toBeUndefined();
    expect(commandWord([])).toBeUndefined();
  });
});

describe("readsDataFiles", () => {
  it("is true for the commands that read data files, after global options", () => {
    expect(readsDataFiles(["drift", "--reference", "a.csv", "--current", "b.csv"])).toBe(true);
    expect(readsDataFiles(["--data-dir", "x", "validate", "--data", "a.csv"])).toBe(true);
  });
  it("is false for other commands, and for help", () => {
    expect(readsDataFiles(["models", "list"])).toBe(false);
    expect(readsDataFiles(["drift", "--help"])).toBe(false);
    expect(readsDataFiles(["help", "drift"])).toBe(false);
    expect(readsDataFiles([])).toBe(false);
  });
});
