import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import { copyBlobs, openBlobBackend, type BlobBackend } from "../../src/store/index.js";
import { sqliteStores } from "./backends.js";
import { startS3Server, type TestS3Server } from "./s3-server.js";

let s3: TestS3Server;
beforeAll(async () => (s3 = await startS3Server()));
afterAll(() => s3.close());

const enc = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function names(b: BlobBackend): Promise<string[]> {
  const out: string[] = [];
  for await (const n of b.listBlobs()) out.push(n);
  return out.sort();
}

describe("copying artifact blobs between destinations", () => {
  it("moves a file-system store to S3 and back, verifying every blob and skipping what is there", async () => {
    const t = await sqliteStores();
    const destination = `s3://${s3.bucket}/moved`;
    const scratch = mkdtempSync(path.join(tmpdir(), "keel-copy-"));
    try {
      const files = { "1/r/artifacts/model.json": enc('{"trees":[]}'), "1/r/artifacts/MLmodel": enc("flavors: {}\n") };
      for (const [p, bytes] of Object.entries(files)) await t.stores.artifacts.putFile(p, bytes);
      const card = await t.stores.artifacts.putBlob(enc('{"card":1}'));
      const broken = await t.stores.artifacts.putFile("1/r/artifacts/broken.bin", enc("original bytes"));
      const fs = openBlobBackend(t.artifactRoot);
      writeFileSync(
        path.join(t.artifactRoot, "blobs", broken.sha256.slice(0, 2), broken.sha256.slice(2, 4), broken.sha256),
        "altered bytes!",
      );
      const bucket = openBlobBackend(destination, { ...s3.connection, listPageSize: 2 });

      const first = await copyBlobs(fs, bucket);
      const good = [...Object.values(files).map(sha), card.sha256].sort();
      expect(first).toEqual({ copied: 3, bytes: 12 + 12 + 10, present: 0, corrupted: [broken.sha256] });
      expect(await names(bucket)).toEqual(good);
      expect(await copyBlobs(fs, bucket)).toEqual({ copied: 0, bytes: 0, present: 3, corrupted: [broken.sha256] });

      // The same metadata database over the bucket reads the copied files.
      const onS3 = openStores({ backendStoreUri: t.uri, artifactRoot: destination, s3: s3.connection });
      try {
        expect(await onS3.artifacts.getFile("1/r/artifacts/model.json")).toEqual(files["1/r/artifacts/model.json"]);
        expect(await onS3.artifacts.getBlob(card.sha256)).toEqual(enc('{"card":1}'));
        const lost = await onS3.artifacts.getFile("1/r/artifacts/broken.bin").catch((e: Error) => e);
        expect((lost as Error).message).toContain(`missing from the artifact store ${destination}`);
      } finally {
        await onS3.close();
      }

      // Back from the bucket to an empty directory, listing the bucket two keys a page.
      s3.requests.length = 0;
      const back = openBlobBackend(scratch);
      expect(await copyBlobs(bucket, back, { concurrency: 1 })).toEqual({
        copied: 3,
        bytes: 34,
        present: 0,
        corrupted: [],
      });
      expect(await names(back)).toEqual(good);
      // Three blobs, two a page: a second page from the first's last key.
      const lists = s3.requests.filter((r) => r.method === "GET" && /[?&]prefix=moved%2Fblobs%2F/.test(r.url));
      expect(lists).toHaveLength(2);
      expect(lists[1]?.url).toContain(`marker=moved%2Fblobs%2F`);
      await bucket.close();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      await t.close();
    }
  });
});
