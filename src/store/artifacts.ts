import type { Clock } from "../runtime/index.js";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
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

/**
 * Artifacts: content-addressed blobs (sha256) plus a tree of named files that point at blobs
 * (MLflow's run artifact paths, e.g. `<experiment_id>/<run_id>/artifacts/<path>`). Every read
 * verifies the bytes against their sha256. An S3-compatible store implements the same interface.
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
  statFile(filePath: string): Promise<StoredBlob>;
  /** Immediate children of a directory (`""` for the root), directories first then files, by name. */
  list(dirPath?: string): Promise<readonly ArtifactEntry[]>;
  /** Removes a file or a whole directory from the tree (blobs stay: others may share them). */
  deletePath(filePath: string): Promise<number>;
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

async function* chunks(data: Uint8Array | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else yield* data;
}

export interface FsArtifactStoreOptions {
  /** Directory holding `blobs/` and `tmp/`. */
  readonly root: string;
  readonly clock?: Clock;
}

function blobPath(root: string, sha: string): string {
  return path.join(root, "blobs", sha.slice(0, 2), sha.slice(2, 4), sha);
}

function checkSha(sha: string): void {
  if (typeof sha !== "string" || !SHA256.test(sha)) {
    throw new InvalidParameterError(`sha256 ${JSON.stringify(sha)} must be 64 lower-case hex digits`, {
      details: { field: "sha256", value: sha },
    });
  }
}

async function readVerified(root: string, sha: string, what: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(blobPath(root, sha));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new DataIntegrityError(`${what}: its content (sha256 ${sha}) is missing from the artifact store`, {
        cause: e,
      });
    }
    throw e;
  }
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== sha) {
    throw new DataIntegrityError(
      `${what}: checksum mismatch, stored bytes have sha256 ${actual} but ${sha} was recorded; the artifact was altered or corrupted and is refused`,
      { details: { expected: sha, actual } },
    );
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
    for await (const c of chunks(data)) {
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

/**
 * File-system artifact store. A blob is written to `tmp/`, fsynced, then renamed into
 * `blobs/ab/cd/<sha256>`, so a crash leaves either no blob or a whole one. The path → blob index
 * is the metadata database's `artifact_files`. Creating it does no I/O.
 */
export function createFsArtifactStore(metadata: MetadataDb, options: FsArtifactStoreOptions): ArtifactStore {
  const root = path.resolve(options.root);
  const clock = options.clock ?? Date.now;
  const putBlob = (data: Uint8Array | AsyncIterable<Uint8Array>) => writeBlob(root, data);

  async function indexRow(filePath: string) {
    const p = normalizeArtifactPath(filePath);
    const row = await metadata.query((db) =>
      db.selectFrom("artifact_files").select(["sha256", "size"]).where("path", "=", p).executeTakeFirst(),
    );
    if (row === undefined) throw new NotFoundError(`artifact ${JSON.stringify(p)} does not exist`);
    return { path: p, sha256: row.sha256, size: Number(row.size) };
  }

  return {
    putBlob,

    async getBlob(sha256) {
      checkSha(sha256);
      return readVerified(root, sha256, `blob ${sha256}`);
    },

    async hasBlob(sha256) {
      checkSha(sha256);
      try {
        await stat(blobPath(root, sha256));
        return true;
      } catch {
        return false;
      }
    },

    async putFile(filePath, data) {
      const p = normalizeArtifactPath(filePath);
      const blob = await putBlob(data);
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
      return readVerified(root, row.sha256, `artifact ${JSON.stringify(row.path)}`);
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
  };
}
