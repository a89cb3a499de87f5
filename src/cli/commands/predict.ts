import { readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { InvalidParameterError } from "../../errors.js";
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
 * The model file to score with: the path itself, or in an MLflow model folder the file of the
 * flavor keel runs, with the names of MLmodel's signature for a file that carries none.
 */
async function modelFileOf(modelPath: string): Promise<{ modelPath: string; featureNames?: readonly string[] }> {
  if ((await stat(modelPath).catch(() => undefined))?.isDirectory() !== true) return { modelPath };
  // Only a folder needs the registry's MLmodel reader.
  const { MLMODEL_FILE, parseMlmodel, servableModel } = await import("../../registry/index.js");
  const text = await readFile(join(modelPath, MLMODEL_FILE), "utf8").catch(() => {
    throw new InvalidParameterError(
      `--model ${modelPath}: a directory must be an MLflow model folder (no ${MLMODEL_FILE} file)`,
      {
        details: { field: "model", value: modelPath, rule: `a model file or a folder with an ${MLMODEL_FILE} file` },
      },
    );
  });
  const m = parseMlmodel(text, modelPath);
  const { modelFile } = servableModel(m, modelPath);
  return {
    modelPath: join(modelPath, modelFile),
    ...(m.signature === undefined ? {} : { featureNames: m.signature.inputs.map((c) => c.name) }),
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
    .requiredOption(
      "--model <file>",
      "model file (the format is detected from its content) or MLflow model folder (its MLmodel's flavor)",
    )
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
      const model = await modelFileOf(resolve(ctx.cwd, flags.model));
      const result = await batchScore({
        ...model,
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
