/** The split step: the data's rows divided into training and validation rows, as the definition says. */
import { bytesInt32, bytesJson, int32Bytes, jsonBytes } from "../cache.js";
import { logMetrics, type PipelineContext } from "../context.js";
import { sha256Hex } from "../definition.js";
import { splitRows, type Split } from "../split.js";
import { cachedFile, runCachedStep } from "../step-cache.js";

export interface SplitRows {
  readonly train: Int32Array;
  readonly valid: Int32Array;
  /** Identifies the exact rows on each side; downstream cache keys depend on it. */
  readonly hash: string;
}

export async function splitStep(ctx: PipelineContext): Promise<SplitRows> {
  const { def } = ctx;
  return runCachedStep(ctx, {
    step: "split",
    inputs: { data: ctx.lineage.dataHash, split: def.split, target: def.target, positive: def.positive ?? null },
    codec: {
      files: ["train.i32", "valid.i32", "split.json"],
      encode: ({ train, valid, time }: Split) =>
        new Map([
          ["train.i32", int32Bytes(train)],
          ["valid.i32", int32Bytes(valid)],
          ["split.json", jsonBytes({ time })],
        ]),
      decode: (files) => ({
        train: bytesInt32(cachedFile(files, "train.i32")),
        valid: bytesInt32(cachedFile(files, "valid.i32")),
        ...(bytesJson(cachedFile(files, "split.json")) as Pick<Split, "time">),
      }),
    },
    compute: () => splitRows(ctx.frame, def.split, ctx.labels),
    report: async ({ train, valid, time }, child) => {
      const hash = sha256Hex(`${sha256Hex(int32Bytes(train))}:${sha256Hex(int32Bytes(valid))}`);
      await logMetrics(ctx, child.runId, {
        train_rows: train.length,
        valid_rows: valid.length,
        ...(time === undefined
          ? {}
          : { time_cutoff: time.cutoff, train_time_max: time.trainMax, valid_time_min: time.validMin }),
      });
      await ctx.tracking.setTag(child.runId, { key: "keel.split_sha256", value: hash }, ctx.actor);
      return {
        value: { train, valid, hash },
        status: "passed",
        message: `${train.length} training rows, ${valid.length} validation rows`,
      };
    },
  });
}
