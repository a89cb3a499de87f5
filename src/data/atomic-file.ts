import { open, rename } from "node:fs/promises";

/**
 * Writes `data` to `file` so that a reader sees the old file or the whole new one, never a part:
 * a temporary file next to it, fsynced, then renamed over it.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
