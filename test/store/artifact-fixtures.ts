import { DeleteObjectCommand, paginateListObjectsV2, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { S3Connection } from "../../src/store/index.js";
import type { MakeStores, TestStores } from "./backends.js";
import type { TestS3Server } from "./s3-server.js";

/** Looks at and damages blobs behind the artifact store's back, on whichever backend holds them. */
export interface BlobProbe {
  /** sha256 → size of every stored blob. */
  blobs(): Promise<Map<string, number>>;
  /** Anything stored besides blobs (temp files, stray keys). */
  strays(): Promise<string[]>;
  overwrite(sha256: string, bytes: Uint8Array): Promise<void>;
  remove(sha256: string): Promise<void>;
}

export interface ArtifactFixture {
  readonly open: TestStores;
  readonly probe: BlobProbe;
}

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function fsProbe(root: string): BlobProbe {
  const blobFile = (sha: string) => path.join(root, "blobs", sha.slice(0, 2), sha.slice(2, 4), sha);
  return {
    blobs: () =>
      Promise.resolve(new Map(filesUnder(path.join(root, "blobs")).map((f) => [path.basename(f), statSync(f).size]))),
    strays: () => Promise.resolve(filesUnder(path.join(root, "tmp"))),
    overwrite: (sha, bytes) => Promise.resolve(writeFileSync(blobFile(sha), bytes)),
    remove: (sha) => Promise.resolve(rmSync(blobFile(sha))),
  };
}

/** Stores on `make`'s metadata backend with blobs in the file system. */
export function fsArtifacts(make: MakeStores): () => Promise<ArtifactFixture> {
  return async () => {
    const open = await make();
    return { open, probe: fsProbe(open.artifactRoot) };
  };
}

function s3Client(c: S3Connection): S3Client {
  return new S3Client({
    endpoint: c.endpoint as string,
    region: c.region as string,
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId as string, secretAccessKey: c.secretAccessKey as string },
  });
}

function s3Probe(server: TestS3Server, prefix: string): BlobProbe {
  const client = s3Client(server.connection);
  const Bucket = server.bucket;
  const key = (sha: string) => `${prefix}/blobs/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`;
  async function all(): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    for await (const page of paginateListObjectsV2({ client }, { Bucket, Prefix: `${prefix}/` })) {
      for (const o of page.Contents ?? []) out.push({ key: o.Key as string, size: o.Size ?? 0 });
    }
    return out;
  }
  return {
    async blobs() {
      const objects = await all();
      return new Map(
        objects.filter((o) => o.key.startsWith(`${prefix}/blobs/`)).map((o) => [path.posix.basename(o.key), o.size]),
      );
    },
    async strays() {
      return (await all()).map((o) => o.key).filter((k) => !k.startsWith(`${prefix}/blobs/`));
    },
    async overwrite(sha, bytes) {
      await client.send(new PutObjectCommand({ Bucket, Key: key(sha), Body: bytes }));
    },
    async remove(sha) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key(sha) }));
    },
  };
}

/**
 * Stores on `make`'s metadata backend with blobs in `server`'s bucket under a fresh prefix, in
 * 5 MiB parts (S3's smallest) so multipart uploads are exercised by modest files.
 */
export function s3Artifacts(server: () => TestS3Server, make: MakeStores): () => Promise<ArtifactFixture> {
  return async () => {
    const s3 = server();
    const prefix = `runs-${randomBytes(4).toString("hex")}`;
    const open = await make({
      artifactRoot: `s3://${s3.bucket}/${prefix}`,
      s3: { ...s3.connection, partSize: 5 * 1024 * 1024 },
    });
    return { open, probe: s3Probe(s3, prefix) };
  };
}
