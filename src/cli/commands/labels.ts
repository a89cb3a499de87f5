import path from "node:path";
import type { Command } from "commander";
import type { GroupPerformanceJson, LabelIngestJson, PerformanceJson } from "../../client/index.js";
import type { Column, Frame } from "../../data/index.js";
import { readTable } from "../../data/index.js";
import {
  eventTime,
  ingestLabels,
  labelValue,
  championThreshold,
  evaluatePerformance,
  performanceObservations,
  windowText,
} from "../../monitoring/index.js";
import { parseWindow, performanceJson } from "../../server/index.js";
import type { LabelInput } from "../../store/index.js";
import { configFor, serverClient, group, print, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";
import { specError } from "../../spec-fields.js";

const LOCAL_ACTOR = "cli";
/** Labels per request when sending a file to a server. */
const LABELS_PER_REQUEST = 5_000;

function columnOf(frame: Frame, flag: string, name: string): Column {
  const c = frame.columns.find((x) => x.name === name);
  if (c === undefined) {
    throw specError(
      flag,
      name,
      `must name a column of the file (columns: ${frame.columns.map((x) => x.name).join(", ")})`,
    );
  }
  return c;
}

/** A cell as JSON would carry it: a number, a string, or null. Whole numbers print without a fraction. */
function cell(c: Column, i: number): number | string | null {
  if (c.kind === "numeric") {
    const v = c.values[i] as number;
    return Number.isNaN(v) ? null : v;
  }
  const code = c.codes[i] as number;
  return code < 0 ? null : (c.dictionary[code] as string);
}

function idCell(c: Column, i: number, field: string): string {
  const v = cell(c, i);
  if (v === null || v === "") throw specError(field, v, "must be present");
  return typeof v === "number" ? String(v) : v;
}

interface IngestFlags {
  requestIdColumn?: string;
  entityColumn?: string;
  timeColumn?: string;
  labelColumn: string;
  positive?: string;
  source?: string;
}

/** The file's rows as labels; errors name the row (1-based, after the header) and the column. */
export function labelsFromFrame(frame: Frame, flags: IngestFlags, source: string): LabelInput[] {
  const byRequest = flags.requestIdColumn !== undefined;
  const byEntity = flags.entityColumn !== undefined || flags.timeColumn !== undefined;
  if (byRequest === byEntity) {
    throw specError(
      "--request-id-column",
      flags.requestIdColumn ?? null,
      "give either --request-id-column, or --entity-column with --time-column",
    );
  }
  if (byEntity && (flags.entityColumn === undefined || flags.timeColumn === undefined)) {
    throw specError(
      flags.entityColumn === undefined ? "--entity-column" : "--time-column",
      null,
      "is required with the other of --entity-column / --time-column",
    );
  }
  const labelCol = columnOf(frame, "--label-column", flags.labelColumn);
  const requestCol = byRequest ? columnOf(frame, "--request-id-column", flags.requestIdColumn as string) : undefined;
  const entityCol = byEntity ? columnOf(frame, "--entity-column", flags.entityColumn as string) : undefined;
  const timeCol = byEntity ? columnOf(frame, "--time-column", flags.timeColumn as string) : undefined;
  const out: LabelInput[] = new Array<LabelInput>(frame.nRows);
  for (let i = 0; i < frame.nRows; i++) {
    const row = `row ${i + 1}`;
    const label = labelValue(cell(labelCol, i), `${row} ${labelCol.name}`, flags.positive);
    if (requestCol !== undefined) {
      out[i] = { requestId: idCell(requestCol, i, `${row} ${requestCol.name}`), label, source };
    } else {
      const e = entityCol as Column;
      const t = timeCol as Column;
      out[i] = {
        entityId: idCell(e, i, `${row} ${e.name}`),
        time: eventTime(cell(t, i), `${row} ${t.name}`),
        label,
        source,
      };
    }
  }
  return out;
}

function fmt(v: number | null, digits = 4): string {
  return v === null ? "-" : v.toFixed(digits);
}

function renderReport(r: PerformanceJson): string {
  const row = (g: GroupPerformanceJson, name: string) => [
    name,
    String(g.predictions),
    String(g.labelled),
    fmt(g.auc),
    fmt(g.precision),
    fmt(g.recall),
    fmt(g.fnr),
    fmt(g.ece),
    fmt(g.decision_rate),
  ];
  const lines = [
    `${r.model}: ${r.window} window ${new Date(r.window_start).toISOString()} .. ${new Date(r.window_end).toISOString()} (threshold ${r.threshold})`,
    table(
      ["group", "predictions", "labelled", "auc", "precision", "recall", "fnr", "ece", "decision_rate"],
      [
        row(r.overall, "all"),
        ...r.segments.map((g) => row(g, g.segment ?? "")),
        ...r.versions.map((g) => row(g, `version ${g.model_version ?? ""} (${(g.routes ?? []).join(", ")})`)),
      ],
    ),
    `decision rate: ${fmt(r.decision_rate.current)} vs ${fmt(r.decision_rate.previous)} in the window before (relative change ${fmt(r.decision_rate.relative_change)})`,
  ];
  if (r.fairness !== null) {
    lines.push(
      `fairness by ${r.fairness.column}: demographic parity gap ${fmt(r.fairness.demographic_parity_gap)}, equal opportunity gap ${fmt(r.fairness.equal_opportunity_gap)}`,
    );
  }
  return lines.join("\n");
}

function parseAsOf(value: string): number {
  return eventTime(value, "--as-of");
}

function parseThreshold(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw specError("--threshold", value, "must be a number");
  return n;
}

/**
 * `keel labels ingest FILE` and `keel labels report --model NAME`: against the server at the
 * tracking URI when one is configured, otherwise against the local store (docs/monitoring.md).
 */
export function labelsCommand(program: Command, ctx: CliContext): void {
  const labels = group(program, "labels", "delayed labels and rolling performance");

  labels
    .command("ingest <file>")
    .description("store delayed labels from a CSV or Parquet file and join them to logged predictions")
    .option("--request-id-column <name>", "column holding the request id a prediction was logged under")
    .option("--entity-column <name>", "column holding the entity id (with --time-column)")
    .option("--time-column <name>", "column holding the outcome's event time (epoch ms or ISO-8601)")
    .requiredOption("--label-column <name>", "column holding the label (0/1, true/false, or see --positive)")
    .option("--positive <value>", "label value that means the positive class (others are 0)")
    .option("--source <text>", "where the labels came from (default: file:<name>)")
    .action(async (file: string, flags: IngestFlags, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const frame = await readTable(path.resolve(ctx.cwd, file));
      const source = flags.source ?? `file:${path.basename(file)}`;
      const items = labelsFromFrame(frame, flags, source);
      if (items.length === 0) throw specError("file", file, "holds no label rows");
      const client = serverClient(config);
      let result: LabelIngestJson;
      if (client === undefined) {
        result = await withStores(config, (s) => ingestLabels(s.labels, items, { actor: LOCAL_ACTOR }));
      } else {
        const sum: LabelIngestJson = { received: 0, inserted: 0, updated: 0, unchanged: 0, matched: 0, unmatched: 0 };
        for (let i = 0; i < items.length; i += LABELS_PER_REQUEST) {
          const part = items
            .slice(i, i + LABELS_PER_REQUEST)
            .map((l) =>
              l.requestId !== undefined
                ? { request_id: l.requestId, label: l.label }
                : { entity_id: l.entityId, time: l.time, label: l.label },
            );
          const r = await client.ingestLabels(part, { source });
          for (const k of Object.keys(sum) as (keyof LabelIngestJson)[]) sum[k] += r[k];
        }
        result = sum;
      }
      print(
        cmd,
        ctx,
        result,
        () =>
          `ingested ${result.received} labels from ${file}: ${result.inserted} new, ${result.updated} changed, ${result.unchanged} unchanged; ${result.matched} matched a logged prediction, ${result.unmatched} unmatched`,
      );
    });

  labels
    .command("report")
    .description(
      "rolling performance of a model's labelled predictions (AUC, precision, recall, FNR, calibration, fairness)",
    )
    .requiredOption("--model <name>", "model name as logged by serving")
    .option("--window <days>", "window length, e.g. 7d or 30d", "7d")
    .option("--segment <feature>", "feature to break results down by and to measure fairness across (e.g. region)")
    .option("--as-of <time>", "end of the window (epoch ms or ISO-8601; default: now)", parseAsOf)
    .option(
      "--threshold <score>",
      "score at or above which a prediction is a positive decision (default 0.5)",
      parseThreshold,
    )
    .action(
      async (
        flags: { model: string; window: string; segment?: string; asOf?: number; threshold?: number },
        cmd: Command,
      ) => {
        const config = configFor(cmd, ctx);
        const windowDays = parseWindow(flags.window, "--window");
        const asOf = flags.asOf ?? Date.now();
        const client = serverClient(config);
        let report: PerformanceJson;
        if (client !== undefined) {
          report = await client.getPerformance({
            model: flags.model,
            window: windowText(windowDays),
            as_of: asOf,
            ...(flags.segment !== undefined ? { segment: flags.segment } : {}),
            ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
          });
        } else {
          report = await withStores(config, async (s) => {
            const threshold = flags.threshold ?? (await championThreshold(s.registry, flags.model));
            const r = await evaluatePerformance(
              { inferenceLog: s.inferenceLog, labels: s.labels },
              {
                modelName: flags.model,
                asOf,
                windowDays,
                ...(flags.segment !== undefined ? { segment: flags.segment } : {}),
                ...(threshold !== undefined ? { threshold } : {}),
              },
            );
            // A local report is also a monitoring run: its numbers join the observation time series.
            await s.observations.append(performanceObservations(r));
            return performanceJson(r);
          });
        }
        print(cmd, ctx, report, () => renderReport(report));
      },
    );
}
