import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { chainHash } from "../../src/store/hash-chain.js";

/** sha256 of `text` by coreutils' sha256sum, a digest computed outside Node's crypto module. */
function sha256sum(text: string): string {
  return execFileSync("sha256sum", { input: text, encoding: "utf8" }).split(" ")[0] as string;
}

describe("chainHash", () => {
  it("is sha256 over the previous hash, a newline and the fields' JSON", () => {
    const prev = "ab".repeat(32);
    const fields = [7, 1733350000000, "0193a0b0-1111-7000-8000-000000000000", "loans", '{"score":0.5}', null, 0.8, "é"];
    expect(chainHash(prev, fields)).toBe(sha256sum(`${prev}\n${JSON.stringify(fields)}`));
  });
});
