import { resolve } from "node:path";
import type { Command } from "commander";
import { InvalidParameterError } from "../../errors.js";
import { explainFile } from "../../learn/index.js";
import { configFor, positiveInt, print, table } from "../context.js";
import type { CliContext } from "../context.js";
import { progressBar } from "./predict.js";

interface ExplainFlags {
  model: string;
  input: string;
  output?: string;
  summary?: boolean;
  chunkSize: number;
  idColumn?: string;
}

/**
 * `keel explain --model FILE --input FILE.{csv,parquet} [--output FILE.{csv,parquet}] [--summary]
 * [--chunk-size N] [--id-column COL]`: exact per-row SHAP values (margin space) of a tree ensemble
 * or keel linear model, and with `--summary` the mean |SHAP| of each feature.
 */
export function explainCommand(program: Command, ctx: CliContext): void {
  program
    .command("explain")
    .description("exact per-row feature contributions (SHAP, margin space) of a keel, XGBoost JSON or LightGBM model")
    .requiredOption("--model <file>", "model file; the format is detected from its content")
    .requiredOption("--input <file>", "rows to explain (.csv or .parquet)")
    .option(
      "--output <file>",
      "where to write the id column (if any), one column per feature and bias (.csv or .parquet)",
    )
    .option("--summary", "print each feature's mean |SHAP value| over the rows (global importance)")
    .option("--chunk-size <n>", "rows per chunk (default 100000)", positiveInt("--chunk-size"), 100_000)
    .option("--id-column <name>", "row id column to carry to the output (default: detected)")
    .action(async (flags: ExplainFlags, cmd: Command) => {
      configFor(cmd, ctx);
      if (flags.output === undefined && flags.summary !== true) {
        throw new InvalidParameterError("--output = (absent): required unless --summary is given", {
          details: { field: "output", value: null, rule: "--output or --summary" },
        });
      }
      const onProgress = progressBar();
      const result = await explainFile({
        modelPath: resolve(ctx.cwd, flags.model),
        inputPath: resolve(ctx.cwd, flags.input),
        ...(flags.output === undefined ? {} : { outputPath: resolve(ctx.cwd, flags.output) }),
        chunkSize: flags.chunkSize,
        ...(flags.idColumn === undefined ? {} : { idColumn: flags.idColumn }),
        ...(onProgress === undefined ? {} : { onProgress }),
      });
      print(cmd, ctx, result, () => {
        const lines = [
          `explained ${result.rows} rows with a ${result.model.format} ${result.model.task} model` +
            (result.output === null ? "" : ` -> ${result.output}`),
          `bias (expected margin): ${result.bias}`,
        ];
        if (result.output !== null) lines.push(`id column: ${result.idColumn ?? "(none)"}`);
        if (flags.summary === true) {
          lines.push(
            "",
            table(
              ["feature", "mean |SHAP|"],
              result.importance.map((f) => [f.feature, f.meanAbsShap.toPrecision(6)]),
            ),
          );
        }
        return lines.join("\n");
      });
    });
}
