/**
 * Training data that follows the source: a window over a timestamped table (the last N days or
 * months before the run), and the exact bytes a version was trained on, kept content-addressed in
 * the artifact store with a retention setting.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Frame } from "../data/index.js";
import { takeRows, writeTable } from "../data/index.js";
import type { RegistryStore } from "../registry/index.js";
import type { ArtifactStore } from "../tracking/index.js";
import type { Actor } from "../tracking/index.js";
import { rowTimes } from "./split.js";
import { windowStart, type TrainingWindow } from "./window.js";

/**
 * The rows of `frame` inside the window at `now`: their time (epoch ms, or an ISO-8601 date /
 * timestamp) in [start, now). Every row must have a time.
 */
export function selectWindow(frame: Frame, window: TrainingWindow, now: number): { frame: Frame; start: number } {
  const start = windowStart(window.last, now);
  const times = rowTimes(frame, window.column, "window.column");
  const keep: number[] = [];
  for (let i = 0; i < frame.nRows; i++) {
    const t = times[i] as number;
    if (t >= start && t < now) keep.push(i);
  }
  return { frame: takeRows(frame, Int32Array.from(keep)), start };
}

/** The exact bytes of a frame as CSV, the form windowed training data is kept in. */
export async function csvBytes(frame: Frame): Promise<Uint8Array> {
  const dir = await mkdtemp(path.join(tmpdir(), "keel-training-data-"));
  try {
    const file = path.join(dir, "training-data.csv");
    await writeTable(frame, file);
    return new Uint8Array(await readFile(file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Version tags that lead to the training data: its artifact path and sha256. */
export const TRAINING_DATA_TAGS = {
  path: "keel.training_data",
  sha256: "keel.training_data.sha256",
  expired: "keel.training_data.expired",
} as const;

/** The artifact path of a model's training data: content-addressed by its sha256. */
export function trainingDataPath(model: string, sha256: string, ext: string): string {
  return `training-data/${encodeURIComponent(model)}/${sha256}${ext}`;
}

/**
 * Keeps the training data of the newest `keep` versions of `model`: older versions' data is
 * deleted from the artifact store (unless a kept version uses the same bytes) and the version
 * tagged `keel.training_data.expired`. Returns the versions whose data was deleted.
 */
export async function applyTrainingDataRetention(
  deps: { readonly registry: RegistryStore; readonly artifacts: ArtifactStore; readonly actor: Actor },
  model: string,
  keep: number,
  now: number,
): Promise<string[]> {
  const versions: { version: string; path: string; expired: boolean }[] = [];
  let pageToken: string | undefined;
  do {
    const page = await deps.registry.searchModelVersions({
      filter: `name = '${model.replaceAll("'", "''")}'`,
      maxResults: 200,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    for (const v of page.items) {
      const p = v.tags.find((t) => t.key === TRAINING_DATA_TAGS.path)?.value;
      if (p !== undefined)
        versions.push({
          version: v.version,
          path: p,
          expired: v.tags.some((t) => t.key === TRAINING_DATA_TAGS.expired),
        });
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined && pageToken !== "");
  versions.sort((a, b) => Number(b.version) - Number(a.version));
  const kept = new Set(versions.slice(0, keep).map((v) => v.path));
  const deleted: string[] = [];
  for (const v of versions.slice(keep)) {
    if (v.expired) continue;
    if (!kept.has(v.path)) await deps.artifacts.deletePath(v.path);
    await deps.registry.setModelVersionTag(
      model,
      v.version,
      TRAINING_DATA_TAGS.expired,
      new Date(now).toISOString(),
      deps.actor,
    );
    deleted.push(v.version);
  }
  return deleted;
}
