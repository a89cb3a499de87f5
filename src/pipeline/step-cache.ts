/**
 * The one way a deterministic step is cached: its output is looked up by the hash of its inputs
 * and computed (then stored) only when missing or when the run asks for no cache. What the step
 * logs and reports is derived from the output either way, so a cached step records the same.
 */
import { stepCacheKey } from "./cache.js";
import { runStep, type ChildRun, type PipelineContext, type StepOutcome } from "./context.js";
import type { StepName } from "./types.js";

/** How a step's output is stored in the cache: as named files. */
export interface OutputCodec<T> {
  readonly files: readonly string[];
  encode(output: T): ReadonlyMap<string, Uint8Array>;
  decode(files: ReadonlyMap<string, Uint8Array>): T;
}

export interface CachedStep<O, T> {
  readonly step: StepName;
  /** Everything the output depends on (hashes of data and upstream outputs, configuration). */
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly codec: OutputCodec<O>;
  compute(child: ChildRun): O | Promise<O>;
  /** Logs the output to the step's run and says whether the step passed. */
  report(output: O, child: ChildRun): Promise<Omit<StepOutcome<T>, "cached">>;
}

export async function runCachedStep<O, T>(ctx: PipelineContext, spec: CachedStep<O, T>): Promise<T> {
  const key = stepCacheKey(spec.step, spec.inputs);
  return runStep(ctx, spec.step, key, async (child) => {
    const hit = ctx.useCache ? await ctx.cache.get(spec.step, key, spec.codec.files) : undefined;
    let output: O;
    if (hit !== undefined) output = spec.codec.decode(hit);
    else {
      output = await spec.compute(child);
      await ctx.cache.put(spec.step, key, spec.codec.encode(output));
    }
    return { ...(await spec.report(output, child)), cached: hit !== undefined };
  });
}

/** A cached file that `get` returned (it asked for exactly these names). */
export function cachedFile(files: ReadonlyMap<string, Uint8Array>, name: string): Uint8Array {
  return files.get(name) as Uint8Array;
}
