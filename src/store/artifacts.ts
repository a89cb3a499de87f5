import type { Clock } from "../runtime/index.js";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { sql } from "kysely";
import { DataIntegrityError, InvalidParameterError, NotFoundError } from "../errors.js";
import type { MetadataDb } from "./metadata-db.js";

export interface StoredBlob {
  readonly sha256: string;
  readonly size: number;
}

/** One entry of a directory listing, as MLflow's list-artifacts returns it. */
export interface ArtifactEntry {
  /** Full path from the store's root, e.g. `1/<run_id>/artifacts/model/model.json`. */
  readonly path: string;
  readonly isDir: boolean;
  /** Bytes, for files. */
  readonly fileSize?: number;
}

/** A named file's bytes as a stream, with what was recorded when it was written. */
export interface ArtifactStream extends StoredBlob {
  /**
   * The bytes, hashed as they pass: the last chunk is held back until the whole content matched
   * `sha256`, so a corrupted file fails with DataIntegrityError instead of arriving complete.
   */
  readonly stream: Readable;
}

/**
 * Artifacts: content-addressed blobs (sha256) plus a tree of named files that point at blobs
 * (MLflow's run artifact paths, e.g. `<experiment_id>/<run_id>/artifacts/<path>`). Every read
 * verifies the bytes against their sha256. The blobs live on the file system or in an
 * S3-compatible bucket; the tree lives in the metadata database.
 */
export interface ArtifactStore {
  /** Stores bytes by content; storing the same bytes twice keeps one copy. */
  putBlob(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<StoredBlob>;
  /** The blob's bytes, verified; DataIntegrityError if they no longer match `sha256`. */
  getBlob(sha256: string): Promise<Uint8Array>;
  hasBlob(sha256: string): Promise<boolean>;
  /** Writes a named file (replacing any previous one at that path). */
  putFile(filePath: string, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<StoredBlob>;
  /** The named file's bytes, verified against the checksum recorded when it was written. */
  getFile(filePath: string): Promise<Uint8Array>;
  /** The named file as a verified stream, for files too large to hold in memory. */
  getFileStream(filePath: string): Promise<ArtifactStream>;
  statFile(filePath: string): Promise<StoredBlob>;
  /** Immediate children of a directory (`""` for the root), directories first then files, by name. */
  list(dirPath?: string): Promise<readonly ArtifactEntry[]>;
  /** Removes a file or a whole directory from the tree (blobs stay: others may share them). */
  deletePath(filePath: string): Promise<number>;
  /** Where the blobs live, for messages: a directory or `s3://bucket/prefix`. */
  readonly location: string;
  /** Releases connections (the S3 client's sockets); the store is not used afterwards. */
  close(): Promise<void>;
}

/**
 * Where blob bytes live, addressed by sha256. A backend stores and returns raw bytes; the
 * artifact store above it hashes, verifies and keeps the tree of names.
 */
export interface BlobBackend {
  readonly location: string;
  /** Stores the bytes under their sha256 unless a blob with that sha256 exists. */
  put(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<StoredBlob>;
  /** The stored bytes, unverified, or undefined when there is no such blob. */
  read(sha256: string): Promise<Uint8Array | undefined>;
  /** The stored bytes as a stream, unverified, or undefined when there is no such blob. */
  openRead(sha256: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  has(sha256: string): Promise<boolean>;
  /** The sha256 of every stored blob, in no particular order. */
  listBlobs(): AsyncIterable<string>;
  close(): Promise<void>;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * A relative artifact path, normalised to `a/b/c`. Refuses absolute paths, `..`, `.` and empty
 * segments, backslashes and NUL, so no path can leave the store's root.
 */
export function normalizeArtifactPath(p: string, allowRoot = false): string {
  if (typeof p !== "string") {
    throw new InvalidParameterError(`artifact path ${JSON.stringify(p)} must be a string`, {
      details: { field: "path", value: p },
    });
  }
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "" && allowRoot) return "";
  const bad = (rule: string): never => {
    throw new InvalidParameterError(`artifact path ${JSON.stringify(p)}: ${rule}`, {
      details: { field: "path", value: p, rule },
    });
  };
  if (trimmed === "") bad("must not be empty");
  if (trimmed.startsWith("/") || /^[A-Za-z]:/.test(trimmed)) bad("must be relative, not absolute");
  if (trimmed.includes("\\") || trimmed.includes("\0")) bad("must not contain backslashes or NUL");
  for (const seg of trimmed.split("/")) {
    if (seg === "" || seg === "." || seg === "..") bad("must not contain empty, '.' or '..' segments (path traversal)");
  }
  return trimmed;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The bytes of a buffer or a stream, as chunks. */
export async function* byteChunks(data: Uint8Array | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else yield* data;
}

export function checkSha(sha: string): void {
  if (typeof sha !== "string" || !SHA256.test(sha)) {
    throw new InvalidParameterError(`sha256 ${JSON.stringify(sha)} must be 64 lower-case hex digits`, {
      details: { field: "sha256", value: sha },
    });
  }
}

function missing(what: string, sha: string, location: string): DataIntegrityError {
  return new DataIntegrityError(`${what}: its content (sha256 ${sha}) is missing from the artifact store ${location}`, {
    details: { sha256: sha, location },
  });
}

function mismatch(what: string, expected: string, actual: string): DataIntegrityError {
  return new DataIntegrityError(
    `${what}: checksum mismatch, stored bytes have sha256 ${actual} but ${expected} was recorded; the artifact was altered or corrupted and is refused`,
    { details: { expected, actual } },
  );
}

async function readVerified(blobs: BlobBackend, sha: string, what: string): Promise<Uint8Array> {
  const bytes = await blobs.read(sha);
  if (bytes === undefined) throw missing(what, sha, blobs.location);
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== sha) throw mismatch(what, sha, actual);
  return bytes;
}

/** Passes chunks on one behind, so the last is released only after the whole content matched. */
export async function* verifiedChunks(
  source: AsyncIterable<Uint8Array>,
  sha: string,
  what: string,
): AsyncIterable<Uint8Array> {
  const hash = createHash("sha256");
  let held: Uint8Array | undefined;
  for await (const c of source) {
    hash.update(c);
    if (held !== undefined) yield held;
    held = c;
  }
  const actual = hash.digest("hex");
  if (actual !== sha) throw mismatch(what, sha, actual);
  if (held !== undefined) yield held;
}

/**
 * The artifact store over a blob backend: blobs verified on every read, and the tree of named
 * files (path → sha256) in the metadata database's `artifact_files`. Creating it does no I/O.
 */
export function createArtifactStore(metadata: MetadataDb, blobs: BlobBackend, clock: Clock = Date.now): ArtifactStore {
  async function indexRow(filePath: string) {
    const p = normalizeArtifactPath(filePath);
    const row = await metadata.query((db) =>
      db.selectFrom("artifact_files").select(["sha256", "size"]).where("path", "=", p).executeTakeFirst(),
    );
    if (row === undefined) throw new NotFoundError(`artifact ${JSON.stringify(p)} does not exist`);
    return { path: p, sha256: row.sha256, size: Number(row.size) };
  }

  return {
    location: blobs.location,
    putBlob: (data) => blobs.put(data),

    async getBlob(sha256) {
      checkSha(sha256);
      return readVerified(blobs, sha256, `blob ${sha256}`);
    },

    async hasBlob(sha256) {
      checkSha(sha256);
      return blobs.has(sha256);
    },

    async putFile(filePath, data) {
      const p = normalizeArtifactPath(filePath);
      const blob = await blobs.put(data);
      await metadata.query((db) =>
        db
          .insertInto("artifact_files")
          .values({ path: p, sha256: blob.sha256, size: blob.size, created_at: clock() })
          .onConflict((oc) =>
            oc.column("path").doUpdateSet({ sha256: blob.sha256, size: blob.size, created_at: clock() }),
          )
          .execute(),
      );
      return blob;
    },

    async getFile(filePath) {
      const row = await indexRow(filePath);
      return readVerified(blobs, row.sha256, `artifact ${JSON.stringify(row.path)}`);
    },

    async getFileStream(filePath) {
      const row = await indexRow(filePath);
      const what = `artifact ${JSON.stringify(row.path)}`;
      const source = await blobs.openRead(row.sha256);
      if (source === undefined) throw missing(what, row.sha256, blobs.location);
      return {
        sha256: row.sha256,
        size: row.size,
        stream: Readable.from(verifiedChunks(source, row.sha256, what), { objectMode: false }),
      };
    },

    async statFile(filePath) {
      const row = await indexRow(filePath);
      return { sha256: row.sha256, size: row.size };
    },

    async list(dirPath = "") {
      const dir = normalizeArtifactPath(dirPath, true);
      const prefix = dir === "" ? "" : `${dir}/`;
      const { rows } = await metadata.query((db) =>
        sql<{ path: string; size: number }>`select path, size from artifact_files
          where path like ${`${escapeLike(prefix)}%`} escape '\\' order by path`.execute(db),
      );
      const dirs = new Set<string>();
      const files: ArtifactEntry[] = [];
      for (const r of rows) {
        const rest = r.path.slice(prefix.length);
        const slash = rest.indexOf("/");
        if (slash >= 0) dirs.add(prefix + rest.slice(0, slash));
        else files.push({ path: r.path, isDir: false, fileSize: Number(r.size) });
      }
      return [...[...dirs].sort().map((d) => ({ path: d, isDir: true })), ...files];
    },

    async deletePath(filePath) {
      const p = normalizeArtifactPath(filePath);
      const r = await metadata.query((db) =>
        db
          .deleteFrom("artifact_files")
          .where(sql<boolean>`path = ${p} or path like ${`${escapeLike(p)}/%`} escape '\\'`)
          .executeTakeFirst(),
      );
      const n = Number(r.numDeletedRows);
      if (n === 0) throw new NotFoundError(`artifact ${JSON.stringify(p)} does not exist`);
      return n;
    },

    close: () => blobs.close(),
  };
}

export interface FsArtifactStoreOptions {
  /** Directory holding `blobs/` and `tmp/`. */
  readonly root: string;
  readonly clock?: Clock;
}

function blobPath(root: string, sha: string): string {
  return path.join(root, "blobs", sha.slice(0, 2), sha.slice(2, 4), sha);
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === "ENOENT";
}

/** Writes to `tmp/`, fsyncs, then renames into place: a crash leaves no blob or a whole one. */
async function writeBlob(root: string, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<StoredBlob> {
  const tmpDir = path.join(root, "tmp");
  await mkdir(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}`);
  const hash = createHash("sha256");
  let size = 0;
  const fh = await open(tmp, "w");
  try {
    for await (const c of byteChunks(data)) {
      hash.update(c);
      size += c.byteLength;
      await fh.write(c);
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  const sha256 = hash.digest("hex");
  const final = blobPath(root, sha256);
  await mkdir(path.dirname(final), { recursive: true });
  await rename(tmp, final);
  return { sha256, size };
}

/** The blob names under `blobs/ab/cd/`, skipping anything that is not a sha256. */
async function* fsBlobNames(blobsDir: string): AsyncIterable<string> {
  const children = async (d: string) => {
    try {
      return (await readdir(d)).sort();
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
  };
  for (const a of await children(blobsDir)) {
    for (const b of await children(path.join(blobsDir, a))) {
      for (const name of await children(path.join(blobsDir, a, b))) if (SHA256.test(name)) yield name;
    }
  }
}

/** Blobs in `<root>/blobs/ab/cd/<sha256>`. */
export function createFsBlobBackend(root: string): BlobBackend {
  const dir = path.resolve(root);
  return {
    location: dir,
    put: (data) => writeBlob(dir, data),
    async read(sha) {
      try {
        const bytes = await readFile(blobPath(dir, sha));
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    async openRead(sha) {
      try {
        const fh = await open(blobPath(dir, sha), "r");
        return fh.createReadStream();
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    async has(sha) {
      try {
        await stat(blobPath(dir, sha));
        return true;
      } catch {
        return false;
      }
    },
    listBlobs: () => fsBlobNames(path.join(dir, "blobs")),
    close: () => Promise.resolve(),
  };
}

/**
 * File-system artifact store. A blob is written to `tmp/`, fsynced, then renamed into
 * `blobs/ab/cd/<sha256>`, so a crash leaves either no blob or a whole one. The path → blob index
 * is the metadata database's `artifact_files`. Creating it does no I/O.
 */
export function createFsArtifactStore(metadata: MetadataDb, options: FsArtifactStoreOptions): ArtifactStore {
  return createArtifactStore(metadata, createFsBlobBackend(options.root), options.clock);
}
