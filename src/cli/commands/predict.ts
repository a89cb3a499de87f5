import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import { batchScore } from "../../learn/index.js";
import { configFor, positiveInt, print } from "../context.js";
import type { CliContext } from "../context.js";

interface PredictFlags {
  model: string;
  input: string;
  output: string;
  resume?: boolean;
  chunkSize: number;
  idColumn?: string;
  threads?: number;
}

/** A one-line progress bar redrawn in place; only when stderr is a terminal. */
export function progressBar(): ((done: number, total: number) => void) | undefined {
  if (process.stderr.isTTY !== true) return undefined;
  return (done, total) => {
    const frac = total === 0 ? 1 : done / total;
    const width = 30;
    const filled = Math.round(frac * width);
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    process.stderr.write(`\r[${bar}] ${(frac * 100).toFixed(1).padStart(5)}%  ${done}/${total} rows`);
    if (done >= total) process.stderr.write("\n");
  };
}

/**
 * `keel predict --model FILE --input FILE.{csv,parquet} --output FILE.{csv,parquet} [--resume]
 * [--chunk-size N] [--id-column COL] [--threads N]`: scores a file with any supported model.
 */
export function predictCommand(program: Command, ctx: CliContext): void {
  program
    .command("predict")
    .description("score a CSV/Parquet file with a model file (keel, XGBoost JSON, LightGBM text, ONNX)")
    .requiredOption("--model <file>", "model file; the format is detected from its content")
    .requiredOption("--input <file>", "rows to score (.csv or .parquet)")
    .requiredOption("--output <file>", "where to write the id column (if any) and score (.csv or .parquet)")
    .option("--resume", "continue an interrupted job without rescoring its finished chunks")
    .option("--chunk-size <n>", "rows per chunk (default 100000)", positiveInt("--chunk-size"), 100_000)
    .option("--id-column <name>", "row id column to carry to the output (default: detected)")
    .option("--threads <n>", "scoring threads (default: available cores)", positiveInt("--threads"))
    .action(async (flags: PredictFlags, cmd: Command) => {
      // Validates global flags the same way every command does, though predict needs no store.
      configFor(cmd, ctx);
      const onProgress = progressBar();
      const result = await batchScore({
        modelPath: resolve(ctx.cwd, flags.model),
        inputPath: resolve(ctx.cwd, flags.input),
        outputPath: resolve(ctx.cwd, flags.output),
        chunkSize: flags.chunkSize,
        resume: flags.resume === true,
        threads: flags.threads ?? availableParallelism(),
        ...(flags.idColumn === undefined ? {} : { idColumn: flags.idColumn }),
        ...(onProgress === undefined ? {} : { onProgress }),
      });
      print(cmd, ctx, result, () =>
        [
          `scored ${result.rows} rows with a ${result.model.format} ${result.model.task} model -> ${result.output}`,
          `chunks: ${result.chunks} (${result.chunksScored} scored, ${result.chunksReused} reused from the interrupted job)`,
          `id column: ${result.idColumn ?? "(none)"}`,
        ].join("\n"),
      );
    });
}
