import type * as S3Sdk from "@aws-sdk/client-s3";
import type { ListObjectsCommandOutput, S3Client } from "@aws-sdk/client-s3";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { InvalidParameterError, isKeelError, UnavailableError } from "../../errors.js";
import type { Clock } from "../../runtime/index.js";
import {
  byteChunks,
  createArtifactStore,
  type ArtifactStore,
  type BlobBackend,
  type StoredBlob,
} from "../artifacts.js";
import type { MetadataDb } from "../metadata-db.js";

/** S3's smallest part (all but the last part of a multipart upload must be at least this). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Objects above this size are uploaded in parts of this size. */
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

/** How to reach an S3-compatible server; unset fields fall back to the AWS SDK's own resolution. */
export interface S3Connection {
  /** e.g. `http://127.0.0.1:9000` for MinIO; unset: AWS S3 for the region. */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  /** `http://host/bucket/key` instead of `http://bucket.host/key` (servers without virtual hosts). */
  readonly forcePathStyle?: boolean | undefined;
  /** Static credentials; unset: the SDK's default chain (profile files, web identity, instance role). */
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  readonly sessionToken?: string | undefined;
  /** Multipart threshold and part size in bytes (default 16 MiB, at least 5 MiB). */
  readonly partSize?: number | undefined;
  /** Objects per ListObjects page when listing blobs (default 1000, S3's maximum). */
  readonly listPageSize?: number | undefined;
}

export interface S3ArtifactStoreOptions extends S3Connection {
  /** `s3://bucket/prefix` */
  readonly destination: string;
  /** Directory where a streamed upload is hashed before it is sent (default: the OS temp dir). */
  readonly spoolDir?: string;
  readonly clock?: Clock;
}

export interface S3Location {
  readonly bucket: string;
  /** `""` or a key prefix ending in `/`. */
  readonly prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** `s3://bucket/some/prefix` → bucket and key prefix; refuses anything else naming the rule. */
export function parseS3Uri(uri: string): S3Location {
  const bad = (rule: string): never => {
    throw new InvalidParameterError(`artifacts-destination ${JSON.stringify(uri)}: ${rule}`, {
      details: { field: "artifactsDestination", value: uri, rule },
    });
  };
  const m = /^s3:\/\/([^/]*)\/?(.*)$/.exec(uri);
  if (m === null) return bad("must be s3://bucket or s3://bucket/prefix");
  const bucket = m[1] as string;
  if (!BUCKET.test(bucket) || bucket.includes("..")) {
    bad("the bucket name must be 3-63 lower-case letters, digits, dots and hyphens");
  }
  const prefix = (m[2] as string).replace(/\/+$/, "");
  if (prefix.split("/").some((s) => s === "." || s === "..") || /\/\//.test(prefix)) {
    bad("the prefix must not contain empty, '.' or '..' segments");
  }
  return { bucket, prefix: prefix === "" ? "" : `${prefix}/` };
}

function checkPartSize(partSize: number): number {
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
    throw new InvalidParameterError(`s3 part size ${partSize} must be an integer of at least ${MIN_PART_SIZE} bytes`, {
      details: { field: "s3PartSize", value: partSize, rule: `integer >= ${MIN_PART_SIZE}` },
    });
  }
  return partSize;
}

interface S3Error {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

function isMissingObject(e: unknown): boolean {
  const err = e as S3Error;
  if (err.name === "NoSuchBucket") return false;
  return err.name === "NoSuchKey" || err.name === "NotFound" || err.$metadata?.httpStatusCode === 404;
}

const UNINFORMATIVE = new Set(["Error", "Unknown", "UnknownError", ""]);

/** Any failure to reach or use the bucket is the artifact store being unavailable (503), named. */
function unavailable(location: string, action: string, e: unknown): Error {
  if (isKeelError(e)) return e;
  const err = e as S3Error;
  const status = err.$metadata?.httpStatusCode;
  const said = [err.name, err.code, err.message].filter((x): x is string => x !== undefined && !UNINFORMATIVE.has(x));
  const reason = [
    ...(status !== undefined ? [`HTTP ${status}`] : []),
    ...said.filter((x, i) => said.indexOf(x) === i),
    ...(status === 403 ? ["access denied, check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"] : []),
  ].join(": ");
  return new UnavailableError(
    `artifact store ${location} is unavailable (${action}): ${reason === "" ? String(e) : reason}`,
    { cause: e, details: { artifactStore: location, action, ...(status !== undefined ? { httpStatus: status } : {}) } },
  );
}

/** Hashes a stream into a local file, so the upload knows its sha256 (its key) before it starts. */
async function spool(dir: string, data: AsyncIterable<Uint8Array>): Promise<StoredBlob & { file: string }> {
  const file = path.join(dir, `${process.pid}-${randomBytes(8).toString("hex")}`);
  const hash = createHash("sha256");
  let size = 0;
  const fh = await open(file, "w");
  try {
    for await (const c of data) {
      hash.update(c);
      size += c.byteLength;
      await fh.write(c);
    }
  } catch (e) {
    await fh.close();
    await rm(file, { force: true });
    throw e;
  }
  await fh.close();
  return { sha256: hash.digest("hex"), size, file };
}

/**
 * Blobs as objects `<prefix>blobs/ab/cd/<sha256>` in an S3-compatible bucket, with their sha256 in
 * the object's metadata (`x-amz-meta-sha256`) and, for single-part uploads, in S3's own
 * `x-amz-checksum-sha256`, which S3 checks on receipt. An object becomes visible only once whole
 * (S3 PUT and multipart completion are atomic). The AWS SDK is imported on first use.
 */
export function createS3BlobBackend(options: S3ArtifactStoreOptions): BlobBackend {
  const { bucket, prefix } = parseS3Uri(options.destination);
  const location = `s3://${bucket}/${prefix}`.replace(/\/$/, "");
  const partSize = checkPartSize(options.partSize ?? DEFAULT_PART_SIZE);
  const key = (sha: string) => `${prefix}blobs/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`;
  let opened: Promise<{ sdk: typeof S3Sdk; client: S3Client }> | undefined;

  function connect(): Promise<{ sdk: typeof S3Sdk; client: S3Client }> {
    opened ??= import("@aws-sdk/client-s3").then((sdk) => {
      const region = options.region ?? (options.endpoint !== undefined ? "us-east-1" : undefined);
      const client = new sdk.S3Client({
        ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
        ...(region !== undefined ? { region } : {}),
        forcePathStyle: options.forcePathStyle ?? false,
        ...(options.accessKeyId !== undefined && options.secretAccessKey !== undefined
          ? {
              credentials: {
                accessKeyId: options.accessKeyId,
                secretAccessKey: options.secretAccessKey,
                ...(options.sessionToken !== undefined ? { sessionToken: options.sessionToken } : {}),
              },
            }
          : {}),
        // keel hashes every blob itself; the SDK's default CRC32 trailers (aws-chunked bodies)
        // are not understood by every S3-compatible server.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        // A server that accepts no connection fails fast; one that stops answering mid-transfer
        // fails after a minute of silence rather than holding the request forever.
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
      });
      return { sdk, client };
    });
    return opened;
  }

  async function has(sha: string): Promise<boolean> {
    const { sdk, client } = await connect();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key(sha) }));
      return true;
    } catch (e) {
      if (isMissingObject(e)) return false;
      throw unavailable(location, "head", e);
    }
  }

  async function upload(sha: string, size: number, body: () => Uint8Array | Readable): Promise<void> {
    const { sdk, client } = await connect();
    const common = {
      Bucket: bucket,
      Key: key(sha),
      Metadata: { sha256: sha },
      ContentType: "application/octet-stream",
    };
    try {
      if (size <= partSize) {
        const checksum = Buffer.from(sha, "hex").toString("base64");
        await client.send(
          new sdk.PutObjectCommand({ ...common, Body: body(), ContentLength: size, ChecksumSHA256: checksum }),
        );
      } else {
        const { Upload } = await import("@aws-sdk/lib-storage");
        // Parts go up four at a time, each with its SHA-256 for S3 to check; a failed upload is
        // aborted, leaving no parts behind.
        const params = { ...common, Body: body(), ChecksumAlgorithm: "SHA256" as const };
        await new Upload({ client, params, partSize, queueSize: 4 }).done();
      }
    } catch (e) {
      throw unavailable(location, "put", e);
    }
  }

  async function get(sha: string) {
    const { sdk, client } = await connect();
    try {
      return await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key(sha) }));
    } catch (e) {
      if (isMissingObject(e)) return undefined;
      throw unavailable(location, "get", e);
    }
  }

  return {
    location,
    async put(data) {
      if (data instanceof Uint8Array) {
        const sha256 = createHash("sha256").update(data).digest("hex");
        if (!(await has(sha256))) await upload(sha256, data.byteLength, () => data);
        return { sha256, size: data.byteLength };
      }
      const dir = await mkdtemp(path.join(options.spoolDir ?? tmpdir(), "keel-s3-"));
      try {
        const { sha256, size, file } = await spool(dir, byteChunks(data));
        if (!(await has(sha256))) await upload(sha256, size, () => createReadStream(file));
        return { sha256, size };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async read(sha) {
      const out = await get(sha);
      if (out?.Body === undefined) return undefined;
      try {
        return await out.Body.transformToByteArray();
      } catch (e) {
        throw unavailable(location, "get", e);
      }
    },
    async openRead(sha) {
      const out = await get(sha);
      if (out?.Body === undefined) return undefined;
      return out.Body as Readable;
    },
    has,
    // ListObjects paged by the last key seen (Marker): every S3-compatible server pages this way,
    // while ListObjectsV2's continuation tokens are not implemented alike everywhere.
    async *listBlobs() {
      const { sdk, client } = await connect();
      let marker: string | undefined;
      let truncated = true;
      while (truncated) {
        let page: ListObjectsCommandOutput;
        try {
          page = await client.send(
            new sdk.ListObjectsCommand({
              Bucket: bucket,
              Prefix: `${prefix}blobs/`,
              MaxKeys: options.listPageSize ?? 1000,
              ...(marker !== undefined ? { Marker: marker } : {}),
            }),
          );
        } catch (e) {
          throw unavailable(location, "list", e);
        }
        const keys = (page.Contents ?? []).map((o) => o.Key ?? "");
        for (const k of keys) {
          const name = path.posix.basename(k);
          if (SHA256.test(name)) yield name;
        }
        marker = keys.at(-1);
        truncated = page.IsTruncated === true && marker !== undefined;
      }
    },
    async close() {
      if (opened === undefined) return;
      const { client } = await opened;
      client.destroy();
    },
  };
}

/** The artifact store with its blobs in an S3-compatible bucket and its tree in the metadata database. */
export function createS3ArtifactStore(metadata: MetadataDb, options: S3ArtifactStoreOptions): ArtifactStore {
  return createArtifactStore(metadata, createS3BlobBackend(options), options.clock);
}
