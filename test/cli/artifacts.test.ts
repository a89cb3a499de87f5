import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import { fixture } from "../serving/fixtures.js";
import { startS3Server, type TestS3Server } from "../store/s3-server.js";
import { keelInProcess } from "./helpers.js";

let s3: TestS3Server;
let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  s3 = await startS3Server();
  dir = mkdtempSync(path.join(tmpdir(), "keel-cli-artifacts-"));
  env = {
    KEEL_DATA_DIR: dir,
    AWS_ENDPOINT_URL: s3.connection.endpoint as string,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_S3_FORCE_PATH_STYLE: "true",
  };
});
afterAll(async () => {
  await s3.close();
  rmSync(dir, { recursive: true, force: true });
});

const model = fixture("xgb_binary.json");
const modelSha = createHash("sha256").update(readFileSync(model.file)).digest("hex");

describe("keel artifacts copy", () => {
  it("moves an embedded store's artifacts into a bucket, after which the bucket serves them", async () => {
    const registered = await keelInProcess(["models", "register", model.file, "--name", "credit"], { env });
    expect(registered.code, registered.stderr).toBe(0);
    const copy = await keelInProcess(["--json", "artifacts", "copy", "--to", "s3://keel-artifacts/moved"], { env });
    expect(copy.code, copy.stderr).toBe(0);
    expect(JSON.parse(copy.stdout)).toEqual({
      from: path.join(dir, "artifacts"),
      to: "s3://keel-artifacts/moved",
      copied: 1,
      bytes: readFileSync(model.file).length,
      present: 0,
      corrupted: [],
    });
    expect(await s3.keys("moved/")).toEqual([
      `moved/blobs/${modelSha.slice(0, 2)}/${modelSha.slice(2, 4)}/${modelSha}`,
    ]);
    const again = await keelInProcess(["artifacts", "copy", "--to", "s3://keel-artifacts/moved"], { env });
    expect(again.stdout).toContain("copied 0 blobs");
    expect(again.stdout).toContain("1 already there");

    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: "s3://keel-artifacts/moved",
      s3: s3.connection,
    });
    try {
      const version = await stores.registry.getModelVersion("credit", "1");
      expect(version.checksum).toBe(modelSha);
      expect(await stores.artifacts.getBlob(modelSha)).toEqual(new Uint8Array(readFileSync(model.file)));
    } finally {
      await stores.close();
    }
  });

  it("refuses to copy a corrupted blob and exits 1 naming how many", async () => {
    const blobs = path.join(dir, "artifacts", "blobs", modelSha.slice(0, 2), modelSha.slice(2, 4));
    expect(readdirSync(blobs)).toEqual([modelSha]);
    writeFileSync(path.join(blobs, modelSha), "not the model");
    const copy = await keelInProcess(["artifacts", "copy", "--to", "s3://keel-artifacts/second"], { env });
    expect(copy.code).toBe(1);
    expect(copy.stdout).toContain(`corrupted, not copied: ${modelSha}`);
    expect(copy.stderr.trim()).toBe(
      `error: 1 blobs in ${path.join(dir, "artifacts")} no longer match their sha256 and were not copied`,
    );
    expect(await s3.keys("second/")).toEqual([]);
  });
});
