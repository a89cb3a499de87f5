import { writeFileAtomic, readTable } from "../../data/index.js";
import type { Command } from "commander";
import type { Frame } from "../../data/index.js";
import { InvalidParameterError, InvalidStateError } from "../../errors.js";
import { computeDrift, driftProfile, profileFromJson } from "../../stats/index.js";
import type { DriftOptions, DriftReport, ReferenceProfile } from "../../stats/index.js";
import { readSpecFile } from "../../spec-fields.js";
import { print, table } from "../context.js";
import type { CliContext } from "../context.js";

interface DriftFlags {
  reference: string;
  current: string;
  method: string;
  html?: string;
  psiBins?: string;
  columns?: string;
  failOnDrift?: boolean;
}

/** The `--json` payload: the report without its histograms. */
function jsonView(r: DriftReport): object {
  return {
    method: r.method,
    reference_rows: r.reference_rows,
    current_rows: r.current_rows,
    drifted_columns: r.drifted_columns,
    columns: r.columns,
    skipped: r.skipped,
  };
}

function fmt(v: number | null): string {
  if (v === null) return "-";
  if (v !== 0 && Math.abs(v) < 1e-4) return v.toExponential(3);
  return v.toFixed(4);
}

/**
 * The reference's profile, and the current Frame. Both files are read at once, the current one on
 * a worker thread, which sorts its numeric columns too; the columns are sorted in place into the
 * samples the tests use, so no column is ever copied (the profile keeps the reference's arrays).
 * Identifier columns, which drift never tests, are left out as they are read.
 */
async function readBoth(flags: DriftFlags, options: DriftOptions): Promise<[ReferenceProfile, Frame]> {
  const saved = flags.reference.toLowerCase().endsWith(".json");
  const current = readTable(flags.current, {
    threads: saved ? "split" : "worker",
    sortedColumns: true,
    skipIdentifiers: true,
  });
  // Awaited below: a failing reference is reported first, and this rejection is not left unhandled.
  current.catch(() => undefined);
  const reference = saved
    ? await readSpecFile(flags.reference, profileFromJson)
    : await readTable(flags.reference, { threads: "this", skipIdentifiers: true });
  return [driftProfile(reference, options), await current];
}

/**
 * `keel drift --reference FILE --current FILE [--method auto|ks] [--html report.html] [--fail-on-drift]`.
 * Exit code 0 whether or not drift is found, unless `--fail-on-drift` (then 1 when any column drifts).
 */
export function driftCommand(program: Command, ctx: CliContext): void {
  program
    .command("drift")
    .description("compare a current data set with a reference, column by column")
    .requiredOption("--reference <file>", "reference data (CSV / Parquet) or a saved reference profile (.json)")
    .requiredOption("--current <file>", "current data (CSV / Parquet)")
    .option(
      "--method <method>",
      "auto (documented choice per column) or ks (KS for numeric, chi-square for categorical)",
      "auto",
    )
    .option("--html <file>", "also write a self-contained HTML report")
    .option("--psi-bins <n>", "number of reference-quantile bins for PSI (default 10)")
    .option("--columns <names>", "comma-separated columns to test (default: all shared columns)")
    .option("--fail-on-drift", "exit with status 1 when any column drifts")
    .action(async (opts: DriftFlags, cmd: Command) => {
      if (opts.method !== "auto" && opts.method !== "ks") {
        throw new InvalidParameterError(`--method = "${opts.method}": must be "auto" or "ks"`, {
          details: { field: "method", value: opts.method, rule: "auto | ks" },
        });
      }
      let psiBins: number | undefined;
      if (opts.psiBins !== undefined) {
        psiBins = Number(opts.psiBins);
        if (!Number.isInteger(psiBins) || psiBins < 1) {
          throw new InvalidParameterError(`--psi-bins = "${opts.psiBins}": must be an integer ≥ 1`, {
            details: { field: "psi-bins", value: opts.psiBins, rule: "integer >= 1" },
          });
        }
      }
      const options: DriftOptions = {
        method: opts.method,
        sortInPlace: true,
        ...(psiBins === undefined ? {} : { psiBins }),
        ...(opts.columns === undefined ? {} : { columns: opts.columns.split(",").map((s) => s.trim()) }),
      };
      const [profile, current] = await readBoth(opts, options);
      const report = computeDrift(profile, current, options);
      if (opts.html !== undefined) {
        // Imported only here: monitoring brings the stores, which a plain report does not need.
        const { renderDriftHtml } = await import("../../monitoring/index.js");
        await writeFileAtomic(
          opts.html,
          await renderDriftHtml(report, { referenceLabel: opts.reference, currentLabel: opts.current }),
        );
      }
      print(cmd, ctx, jsonView(report), () => {
        const lines = [
          table(
            ["column", "method", "statistic", "p-value", "psi", "drift", "severity", "nulls ref", "nulls cur"],
            report.columns.map((c) => [
              c.name,
              c.method,
              fmt(c.statistic),
              fmt(c.p_value),
              fmt(c.psi),
              c.drift ? "DRIFT" : "-",
              c.severity,
              `${(c.reference_null_rate * 100).toFixed(2)}%`,
              `${(c.current_null_rate * 100).toFixed(2)}%`,
            ]),
          ),
          `${report.drifted_columns} of ${report.columns.length} columns drifted (method ${report.method}).`,
        ];
        if (report.skipped.length > 0)
          lines.push(`not tested: ${report.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}`);
        if (opts.html !== undefined) lines.push(`HTML report: ${opts.html}`);
        return lines.join("\n");
      });
      if (opts.failOnDrift === true && report.drifted_columns > 0) {
        const names = report.columns.filter((c) => c.drift).map((c) => c.name);
        throw new InvalidStateError(`drift detected in ${names.length} column(s): ${names.join(", ")}`, {
          details: { field: "columns", value: names, rule: "--fail-on-drift" },
        });
      }
    });
}
