import { paginateListObjectsV2, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { S3Connection } from "../../src/store/index.js";

interface RequestContext {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | undefined>;
}
interface S3rverInstance {
  /** Koa's middleware list: s3rver is a Koa app. */
  readonly middleware: ((ctx: RequestContext, next: () => Promise<void>) => Promise<void>)[];
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** One request the server received. */
export interface S3Request {
  readonly method: string;
  readonly url: string;
  readonly checksumSha256: string | undefined;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;

/** An S3-protocol server (s3rver) on a free port over a temp directory, with one bucket. */
export interface TestS3Server {
  readonly bucket: string;
  /** Connection settings as keel's config would give them (path-style, static credentials). */
  readonly connection: S3Connection;
  /** Every request received, in order (cleared by the test when it wants a fresh count). */
  readonly requests: S3Request[];
  /**
   * The keys of the objects under `prefix`, read with the AWS SDK. One page only in practice:
   * s3rver cannot continue a ListObjectsV2 listing on Node 20 (its tokens use DES), so tests keep
   * under 1000 keys.
   */
  keys(prefix: string): Promise<string[]>;
  /** Replaces an object's bytes directly (to simulate corruption). */
  overwrite(key: string, bytes: Uint8Array): Promise<void>;
  /** Stops answering (the port closes); the objects stay on disk. */
  stop(): Promise<void>;
  /** Answers again on the same port with the same objects. */
  start(): Promise<void>;
  /** Stops and removes everything. */
  close(): Promise<void>;
}

function sdkClient(port: number): S3Client {
  return new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
}

export async function startS3Server(bucket = "keel-artifacts"): Promise<TestS3Server> {
  const directory = mkdtempSync(path.join(tmpdir(), "keel-s3rver-"));
  const requests: S3Request[] = [];
  const make = (port: number) => {
    const s = new S3rver({ address: "127.0.0.1", port, silent: true, directory, configureBuckets: [{ name: bucket }] });
    // First in the chain, so it sees every request before s3rver's routes answer it.
    s.middleware.unshift(async (ctx, next) => {
      requests.push({ method: ctx.method, url: ctx.url, checksumSha256: ctx.headers["x-amz-checksum-sha256"] });
      await next();
    });
    return s;
  };
  let server: S3rverInstance | undefined = make(0);
  const { port } = await server.run();
  return {
    bucket,
    requests,
    connection: {
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      forcePathStyle: true,
      // s3rver's fixed credentials; it checks the key id (not SigV4 signatures).
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
    },
    async keys(prefix) {
      const client = sdkClient(port);
      const out: string[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
        for (const o of page.Contents ?? []) out.push(o.Key as string);
      }
      client.destroy();
      return out;
    },
    async overwrite(key, bytes) {
      const client = sdkClient(port);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
      client.destroy();
    },
    async stop() {
      await server?.close();
      server = undefined;
    },
    async start() {
      server = make(port);
      await server.run();
    },
    async close() {
      await server?.close();
      server = undefined;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
