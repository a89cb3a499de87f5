import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { keelInProcess } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "keel-cli-destination-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--artifacts-destination", () => {
  it("refuses a bad s3:// destination with one line and exit 2", async () => {
    const r = await keelInProcess(["models", "list", "--artifacts-destination", "s3://Bad_Bucket/x"], {
      env: { KEEL_DATA_DIR: dir },
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      'error: artifacts-destination "s3://Bad_Bucket/x": the bucket name must be 3-63 lower-case letters, digits, dots and hyphens',
    ]);
  });

  it("refuses a scheme it does not know, and bad AWS settings, the same way", async () => {
    const gs = await keelInProcess(["models", "list", "--artifacts-destination", "gs://bucket/x"], {
      env: { KEEL_DATA_DIR: dir },
    });
    expect(gs.code).toBe(2);
    expect(gs.stderr.trim()).toBe(
      'error: artifacts-destination "gs://bucket/x" must be a directory or s3://bucket/prefix',
    );
    const half = await keelInProcess(["models", "list"], {
      env: { KEEL_DATA_DIR: dir, KEEL_ARTIFACT_ROOT: "s3://bucket/x", AWS_ACCESS_KEY_ID: "AKIA" },
    });
    expect(half.code).toBe(2);
    expect(half.stderr.trim()).toBe("error: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
  });
});
