import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UnavailableError } from "../../../src/errors.js";
import type { S3Connection } from "../../../src/store/index.js";
import { sqliteStores, type TestStores } from "../backends.js";
import { startS3Server, type TestS3Server } from "../s3-server.js";

let s3: TestS3Server;
beforeAll(async () => (s3 = await startS3Server()));
afterAll(() => s3.close());

let open: TestStores | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function storeAt(prefix: string, connection: Partial<S3Connection> = {}) {
  open = await sqliteStores({
    artifactRoot: `s3://${s3.bucket}/${prefix}`,
    s3: { ...s3.connection, partSize: 5 * 1024 * 1024, ...connection },
  });
  return open.stores.artifacts;
}

const fresh = () => `t-${randomBytes(4).toString("hex")}`;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const mib = (n: number) => new Uint8Array(n * 1024 * 1024).map((_, i) => (i * 7 + (i >> 12)) % 256);

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

describe("S3 artifact store", () => {
  it("sends a small blob in one PUT carrying S3's sha256 checksum, and an existing blob not at all", async () => {
    const a = await storeAt(fresh());
    const bytes = mib(1);
    s3.requests.length = 0;
    await a.putFile("1/r/artifacts/model.json", bytes);
    const puts = s3.requests.filter((r) => r.method === "PUT");
    expect(puts).toHaveLength(1);
    expect(puts[0]?.url).toContain(`/blobs/${sha(bytes).slice(0, 2)}/${sha(bytes).slice(2, 4)}/${sha(bytes)}`);
    expect(puts[0]?.checksumSha256).toBe(Buffer.from(sha(bytes), "hex").toString("base64"));
    s3.requests.length = 0;
    await a.putFile("1/r/artifacts/copy.json", Readable.from([bytes]));
    expect(s3.requests.map((r) => r.method)).toEqual(["HEAD"]);
  });

  it("uploads a model larger than the part size in parts", async () => {
    const a = await storeAt(fresh());
    const model = mib(12);
    s3.requests.length = 0;
    const stored = await a.putFile(
      "1/r/artifacts/model.onnx",
      Readable.from([model.subarray(0, 7e6), model.subarray(7e6)]),
    );
    expect(stored.sha256).toBe(sha(model));
    // 12 MiB in 5 MiB parts: create, three parts, complete.
    const parts = s3.requests.filter((r) => r.method === "PUT" && /[?&]partNumber=/.test(r.url));
    expect(parts).toHaveLength(3);
    // Each part carries its own SHA-256 (S3 checks it on receipt).
    const part = 5 * 1024 * 1024;
    for (const [n, bytes] of [
      model.subarray(0, part),
      model.subarray(part, 2 * part),
      model.subarray(2 * part),
    ].entries()) {
      const request = parts.find((r) => new RegExp(`[?&]partNumber=${n + 1}(&|$)`).test(r.url));
      expect(request?.checksumSha256).toBe(createHash("sha256").update(bytes).digest("base64"));
    }
    expect(s3.requests.filter((r) => r.method === "POST" && /[?&]uploads/.test(r.url))).toHaveLength(1);
    expect(s3.requests.filter((r) => r.method === "POST" && /[?&]uploadId=/.test(r.url))).toHaveLength(1);
    expect(sha(await a.getFile("1/r/artifacts/model.onnx"))).toBe(sha(model));
  });

  it("uploads a large buffer in parts too", async () => {
    const a = await storeAt(fresh());
    const model = mib(11);
    s3.requests.length = 0;
    expect(await a.putBlob(model)).toEqual({ sha256: sha(model), size: model.length });
    expect(s3.requests.filter((r) => r.method === "PUT" && /[?&]partNumber=/.test(r.url))).toHaveLength(3);
    expect(sha(await a.getBlob(sha(model)))).toBe(sha(model));
  });

  it("is unavailable (503) while the server is down, naming the store, and recovers after", async () => {
    const prefix = fresh();
    const a = await storeAt(prefix);
    await a.putFile("1/r/artifacts/before.txt", new TextEncoder().encode("before"));
    await s3.stop();
    try {
      for (const attempt of [
        () => a.putFile("1/r/artifacts/during.txt", new TextEncoder().encode("during")),
        () => a.putFile("1/r/artifacts/during.txt", Readable.from([new TextEncoder().encode("during")])),
        () => a.getFile("1/r/artifacts/before.txt"),
        () => a.getFileStream("1/r/artifacts/before.txt"),
      ]) {
        const e = await failure(attempt());
        expect(e).toBeInstanceOf(UnavailableError);
        expect((e as UnavailableError).status).toBe(503);
        expect(e.message).toContain(`artifact store s3://${s3.bucket}/${prefix} is unavailable`);
        expect(e.message).toContain("ECONNREFUSED");
      }
    } finally {
      await s3.start();
    }
    // A failed write left no name behind.
    expect((await a.list("1/r/artifacts")).map((e) => e.path)).toEqual(["1/r/artifacts/before.txt"]);
    expect(new TextDecoder().decode(await a.getFile("1/r/artifacts/before.txt"))).toBe("before");
  });

  it("names the S3 error for wrong credentials and a missing bucket", async () => {
    const wrongKey = await storeAt(fresh(), { accessKeyId: "NOT-A-KEY" });
    const denied = await failure(wrongKey.putFile("x.txt", new TextEncoder().encode("x")));
    expect(denied).toBeInstanceOf(UnavailableError);
    expect(denied.message).toContain("HTTP 403");
    expect(denied.message).toContain("check the credentials");
    await open?.close();
    open = await sqliteStores({ artifactRoot: "s3://no-such-bucket/p", s3: s3.connection });
    const noBucket = await failure(open.stores.artifacts.putFile("x.txt", new TextEncoder().encode("x")));
    expect(noBucket).toBeInstanceOf(UnavailableError);
    expect(noBucket.message).toContain("s3://no-such-bucket/p");
    expect(noBucket.message).toContain("NoSuchBucket");
    // Reading through a missing bucket is the store being unavailable, not the blob being lost.
    const read = await failure(open.stores.artifacts.getBlob("0".repeat(64)));
    expect(read).toBeInstanceOf(UnavailableError);
    expect(read.message).toContain("NoSuchBucket");
  });
});
