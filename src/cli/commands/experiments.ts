import type { Command } from "commander";
import type { ExperimentJson } from "../../client/index.js";
import { VIEW_TYPES, type ViewType } from "../../wire/index.js";
import { collect, configFor, group, isoTime, positiveInt, print, printPage, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withSource } from "../source.js";
import { specError } from "../../spec-fields.js";

function view(value: string): ViewType {
  const v = VIEW_TYPES.find((t) => t === value.toUpperCase());
  if (v === undefined) {
    throw specError("--view", value, `must be one of ${VIEW_TYPES.join(", ")}`);
  }
  return v;
}

function experimentsTable(experiments: readonly ExperimentJson[]): string {
  return table(
    ["ID", "NAME", "STAGE", "CREATED"],
    experiments.map((e) => [e.experiment_id, e.name, e.lifecycle_stage, isoTime(e.creation_time)]),
  );
}

interface SearchFlags {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  view?: ViewType;
  pageToken?: string;
}

/** `keel experiments list|search|get|create`. */
export function experimentsCommand(program: Command, ctx: CliContext): void {
  const experiments = group(program, "experiments", "tracking experiments");

  const search = async (flags: SearchFlags, cmd: Command) => {
    const config = configFor(cmd, ctx);
    const page = await withSource(config, (s) =>
      s.searchExperiments({
        filter: flags.filter,
        order_by: flags.orderBy,
        max_results: flags.maxResults,
        view_type: flags.view,
        page_token: flags.pageToken,
      }),
    );
    printPage(cmd, ctx, page, () => experimentsTable(page.experiments));
  };

  experiments
    .command("list")
    .description("list experiments")
    .option("--view <view>", "ACTIVE_ONLY, DELETED_ONLY or ALL", view)
    .option("--max-results <n>", "page size", positiveInt("--max-results"))
    .option("--page-token <token>", "continue from a previous page")
    .action(search);

  experiments
    .command("search")
    .description("search experiments with MLflow's filter grammar")
    .option("--filter <expr>", "e.g. \"name LIKE 'loan%'\"")
    .option("--order-by <clause>", "e.g. 'creation_time DESC' (repeatable)", collect)
    .option("--view <view>", "ACTIVE_ONLY, DELETED_ONLY or ALL", view)
    .option("--max-results <n>", "page size", positiveInt("--max-results"))
    .option("--page-token <token>", "continue from a previous page")
    .action(search);

  experiments
    .command("get <id-or-name>")
    .description("show one experiment")
    .action(async (idOrName: string, _flags: object, cmd: Command) => {
      const e = await withSource(configFor(cmd, ctx), (s) => s.getExperiment(idOrName));
      print(cmd, ctx, { experiment: e }, () =>
        [
          `id:        ${e.experiment_id}`,
          `name:      ${e.name}`,
          `stage:     ${e.lifecycle_stage}`,
          `artifacts: ${e.artifact_location ?? ""}`,
          `created:   ${isoTime(e.creation_time)}`,
          ...(e.tags ?? []).map((t) => `tag:       ${t.key}=${t.value}`),
        ].join("\n"),
      );
    });

  experiments
    .command("create <name>")
    .description("create an experiment")
    .option("--artifact-location <uri>", "where its runs' artifacts go")
    .action(async (name: string, flags: { artifactLocation?: string }, cmd: Command) => {
      const id = await withSource(configFor(cmd, ctx), (s) => s.createExperiment(name, flags.artifactLocation));
      print(cmd, ctx, { experiment_id: id }, () => `created experiment ${id} (${name})`);
    });
}
