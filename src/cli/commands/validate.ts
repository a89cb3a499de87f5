import path from "node:path";
import type { Command } from "commander";
import { readTable, type Frame } from "../../data/index.js";
import { InvalidParameterError, InvalidStateError } from "../../errors.js";
import { parseSuite, proposeSuite, readSuiteFile, validateFrame, type ExpectationSuite } from "../../validate/index.js";
import { globalOptions, positiveInt } from "../context.js";
import type { CliContext } from "../context.js";
import { asInputError } from "./pipeline.js";

interface ValidateFlags {
  profile?: string;
  suite?: string;
  data?: string;
  samples?: number;
  name?: string;
}

/**
 * `keel validate --profile DATA` prints a proposed suite (JSON) for reference data;
 * `keel validate --suite SUITE --data DATA [--json]` checks data against a suite: exit 0 when every
 * expectation passes, 1 when one fails (one line per failure, naming column, rule and observed
 * value), 2 on bad input.
 */
export function validateCommand(program: Command, ctx: CliContext): void {
  program
    .command("validate")
    .description("check data against an expectation suite, or propose a suite from reference data")
    .option("--profile <data>", "propose a suite from this reference data (CSV / Parquet) and print it as JSON")
    .option("--name <name>", "with --profile: the suite's name")
    .option("--suite <file>", "expectation suite (.json, or a .js / .mjs module exporting it)")
    .option("--data <file>", "data to check (CSV / Parquet)")
    .option(
      "--samples <n>",
      "failing rows reported per expectation (default: the suite's, else 5)",
      positiveInt("--samples"),
    )
    .action(async (flags: ValidateFlags, cmd: Command) => {
      const resolve = (f: string) => path.resolve(ctx.cwd, f);
      if (flags.profile !== undefined) {
        if (flags.suite !== undefined || flags.data !== undefined) {
          throw new InvalidParameterError("--profile cannot be combined with --suite or --data", {
            details: {
              field: "profile",
              value: flags.profile,
              rule: "either --profile DATA or --suite FILE --data FILE",
            },
          });
        }
        const frame = await readTable(resolve(flags.profile)).catch((e: unknown) => {
          throw asInputError(e);
        });
        const suite = proposeSuite(frame, flags.name === undefined ? {} : { name: flags.name });
        ctx.out(JSON.stringify(suite, null, 2));
        return;
      }
      if (flags.suite === undefined || flags.data === undefined) {
        const missing = flags.suite === undefined ? "--suite" : "--data";
        throw new InvalidParameterError(`${missing} is required (or --profile DATA to propose a suite)`, {
          details: { field: missing.slice(2), value: null, rule: "either --profile DATA or --suite FILE --data FILE" },
        });
      }
      let frame: Frame;
      let suite: ExpectationSuite;
      try {
        suite = parseSuite(await readSuiteFile(resolve(flags.suite), "--suite"));
        frame = await readTable(resolve(flags.data));
      } catch (e) {
        throw asInputError(e);
      }
      const report = validateFrame(frame, suite, flags.samples === undefined ? {} : { samples: flags.samples });
      if (globalOptions(cmd).json === true) ctx.out(JSON.stringify(report, null, 2));
      else {
        for (const r of report.results) ctx.out(`${r.passed ? "ok  " : "FAIL"} ${r.message}`);
        ctx.out(
          `${report.results.length - report.failed} of ${report.results.length} expectations passed on ${report.rows} rows`,
        );
      }
      if (!report.passed) {
        const first = report.results.find((r) => !r.passed);
        throw new InvalidStateError(
          `validation failed: ${report.failed} of ${report.results.length} expectations` +
            (first === undefined ? "" : `; first: ${first.message}`),
          { details: { field: "data", value: flags.data, rule: first?.message ?? "" } },
        );
      }
    });
}
