import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { keelInProcess, REPO } from "./helpers.js";

describe("keel --version", () => {
  it("prints the version in package.json and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { version: string };
    const result = await keelInProcess(["--version"]);
    expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  });
});
