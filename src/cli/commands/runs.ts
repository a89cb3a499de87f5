import type { Command } from "commander";
import type { RunJson } from "../../client/index.js";
import { collect, configFor, group, isoTime, listAndSearchCommands, print, printPage, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withSource } from "../source.js";

function metricText(v: number | string): string {
  return typeof v === "number" ? String(Math.round(v * 1e6) / 1e6) : v;
}

function runsTable(runs: readonly RunJson[]): string {
  return table(
    ["RUN ID", "NAME", "EXPERIMENT", "STATUS", "STARTED", "METRICS"],
    runs.map((r) => [
      r.info.run_id,
      r.info.run_name ?? "",
      r.info.experiment_id,
      r.info.status,
      isoTime(r.info.start_time),
      (r.data.metrics ?? []).map((m) => `${m.key}=${metricText(m.value)}`).join(" "),
    ]),
  );
}

interface SearchFlags {
  experimentId: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

/** `keel runs list|search|get`. */
export function runsCommand(program: Command, ctx: CliContext): void {
  const runs = group(program, "runs", "tracked runs");

  const search = async (flags: SearchFlags, cmd: Command) => {
    const page = await withSource(configFor(cmd, ctx), (s) =>
      s.searchRuns({
        experiment_ids: flags.experimentId,
        filter: flags.filter,
        order_by: flags.orderBy,
        max_results: flags.maxResults,
        page_token: flags.pageToken,
      }),
    );
    printPage(cmd, ctx, page, () => runsTable(page.runs));
  };

  listAndSearchCommands(
    runs,
    {
      list: "list the runs of experiments",
      search: "search runs with MLflow's filter grammar",
      orderByExample: "metrics.auc DESC",
      filterExample: "metrics.auc > 0.8 and params.model = 'gbdt'",
      required: (c) => c.requiredOption("-e, --experiment-id <id>", "experiment to search (repeatable)", collect),
    },
    search,
  );

  runs
    .command("get <run-id>")
    .description("show one run: params, latest metrics, tags")
    .action(async (runId: string, _flags: object, cmd: Command) => {
      const run = await withSource(configFor(cmd, ctx), (s) => s.getRun(runId));
      print(cmd, ctx, { run }, () => {
        const i = run.info;
        return [
          `run:        ${i.run_id}`,
          `name:       ${i.run_name ?? ""}`,
          `experiment: ${i.experiment_id}`,
          `status:     ${i.status}`,
          `started:    ${isoTime(i.start_time)}`,
          `ended:      ${isoTime(i.end_time)}`,
          `artifacts:  ${i.artifact_uri ?? ""}`,
          ...(run.data.params ?? []).map((p) => `param:      ${p.key}=${p.value}`),
          ...(run.data.metrics ?? []).map((m) => `metric:     ${m.key}=${metricText(m.value)} (step ${m.step})`),
          ...(run.data.tags ?? []).map((t) => `tag:        ${t.key}=${t.value}`),
        ].join("\n");
      });
    });
}
