import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { S3Connection } from "../../src/store/index.js";

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;

/** An S3-protocol server (s3rver) on a free port over a temp directory, with one bucket. */
export interface TestS3Server {
  readonly bucket: string;
  /** Connection settings as keel's config would give them (path-style, static credentials). */
  readonly connection: S3Connection;
  /** Stops answering (the port closes); the objects stay on disk. */
  stop(): Promise<void>;
  /** Answers again on the same port with the same objects. */
  start(): Promise<void>;
  /** Stops and removes everything. */
  close(): Promise<void>;
}

export async function startS3Server(bucket = "keel-artifacts"): Promise<TestS3Server> {
  const directory = mkdtempSync(path.join(tmpdir(), "keel-s3rver-"));
  const make = (port: number) =>
    new S3rver({
      address: "127.0.0.1",
      port,
      silent: true,
      directory,
      configureBuckets: [{ name: bucket }],
    });
  let server: S3rverInstance | undefined = make(0);
  const { port } = await server.run();
  return {
    bucket,
    connection: {
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      forcePathStyle: true,
      // s3rver's fixed credentials; it checks request signatures against them.
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
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
