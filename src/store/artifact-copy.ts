import { DataIntegrityError } from "../errors.js";
import { verifiedChunks, type BlobBackend } from "./artifacts.js";

/** What a copy of blobs between two backends did. */
export interface BlobCopyResult {
  /** Blobs written to the destination. */
  readonly copied: number;
  /** Bytes written to the destination. */
  readonly bytes: number;
  /** Blobs the destination already held (content-addressed: same name, same bytes). */
  readonly present: number;
  /** Source blobs whose bytes no longer match their sha256: refused, not copied. */
  readonly corrupted: readonly string[];
}

export interface BlobCopyOptions {
  /** Blobs in flight at once (default 4). */
  readonly concurrency?: number;
}

/**
 * Copies every blob of `from` that `to` lacks, verifying each on the way: a blob whose bytes do
 * not match its sha256 fails before the destination keeps anything and is reported, not copied.
 * Running it again copies only what is still missing.
 */
export async function copyBlobs(
  from: BlobBackend,
  to: BlobBackend,
  options: BlobCopyOptions = {},
): Promise<BlobCopyResult> {
  const names = from.listBlobs()[Symbol.asyncIterator]();
  let copied = 0;
  let bytes = 0;
  let present = 0;
  const corrupted: string[] = [];
  async function worker(): Promise<void> {
    for (let next = await names.next(); next.done !== true; next = await names.next()) {
      const sha = next.value;
      if (await to.has(sha)) {
        present++;
        continue;
      }
      const source = await from.openRead(sha);
      // Gone since it was listed: nothing to copy.
      if (source === undefined) continue;
      try {
        const stored = await to.put(verifiedChunks(source, sha, `blob ${sha} in ${from.location}`));
        copied++;
        bytes += stored.size;
      } catch (e) {
        if (!(e instanceof DataIntegrityError)) throw e;
        corrupted.push(sha);
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return { copied, bytes, present, corrupted: corrupted.sort() };
}
