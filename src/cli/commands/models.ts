import type { Command } from "commander";
import type { ModelVersionJson, RegisteredModelJson } from "../../client/index.js";
import {
  collect,
  configFor,
  group,
  isoTime,
  listAndSearchCommands,
  positiveInt,
  print,
  printPage,
  table,
} from "../context.js";
import type { CliContext } from "../context.js";
import { withSource } from "../source.js";

/**
 * The `models` group. Other command files add subcommands to it with
 * `group(program, "models", MODELS_DESCRIPTION).command(...)`.
 */
export const MODELS_DESCRIPTION = "registered models and their versions";

function modelsTable(models: readonly RegisteredModelJson[]): string {
  return table(
    ["NAME", "LATEST", "ALIASES", "UPDATED"],
    models.map((m) => [
      m.name,
      (m.latest_versions ?? []).map((v) => `v${v.version}:${v.current_stage}`).join(" "),
      (m.aliases ?? []).map((a) => `${a.alias}=v${a.version}`).join(" "),
      isoTime(m.last_updated_timestamp),
    ]),
  );
}

function versionsTable(versions: readonly ModelVersionJson[]): string {
  return table(
    ["NAME", "VERSION", "STAGE", "ALIASES", "STATUS", "RUN", "CREATED"],
    versions.map((v) => [
      v.name,
      v.version,
      v.current_stage,
      (v.aliases ?? []).join(","),
      v.status,
      v.run_id ?? "",
      isoTime(v.creation_timestamp),
    ]),
  );
}

interface SearchFlags {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

/** `keel models list|search|get|versions`. */
export function modelsCommand(program: Command, ctx: CliContext): void {
  const models = group(program, "models", MODELS_DESCRIPTION);

  const search = async (flags: SearchFlags, cmd: Command) => {
    const page = await withSource(configFor(cmd, ctx), (s) =>
      s.searchModels({
        filter: flags.filter,
        order_by: flags.orderBy,
        max_results: flags.maxResults,
        page_token: flags.pageToken,
      }),
    );
    printPage(cmd, ctx, page, () => modelsTable(page.registered_models));
  };

  listAndSearchCommands(
    models,
    {
      list: "list registered models",
      search: "search registered models with MLflow's filter grammar",
      orderByExample: "name ASC",
      filterExample: "name LIKE 'loan%'",
    },
    search,
  );

  models
    .command("get <name>")
    .description("show one registered model with its versions")
    .action(async (name: string, _flags: object, cmd: Command) => {
      const { model, versions } = await withSource(configFor(cmd, ctx), async (s) => {
        const model = await s.getModel(name);
        const escaped = name.replace(/'/g, "\\'");
        // Newest number first (searches default to the most recently updated first, as MLflow).
        const versions = await s.searchVersions({ filter: `name = '${escaped}'`, order_by: ["version_number DESC"] });
        return { model, versions: versions.model_versions };
      });
      print(cmd, ctx, { registered_model: model, model_versions: versions }, () =>
        [
          `name:        ${model.name}`,
          `description: ${model.description ?? ""}`,
          `created:     ${isoTime(model.creation_timestamp)}`,
          ...(model.aliases ?? []).map((a) => `alias:       ${a.alias} -> v${a.version}`),
          ...(model.tags ?? []).map((t) => `tag:         ${t.key}=${t.value}`),
          "",
          versionsTable(versions),
        ].join("\n"),
      );
    });

  models
    .command("versions")
    .description("search model versions")
    .option("--filter <expr>", "e.g. \"name = 'loan-default'\"")
    .option("--order-by <clause>", "e.g. 'version_number DESC' (repeatable)", collect)
    .option("--max-results <n>", "page size", positiveInt("--max-results"))
    .option("--page-token <token>", "continue from a previous page")
    .action(async (flags: SearchFlags, cmd: Command) => {
      const page = await withSource(configFor(cmd, ctx), (s) =>
        s.searchVersions({
          filter: flags.filter,
          order_by: flags.orderBy,
          max_results: flags.maxResults,
          page_token: flags.pageToken,
        }),
      );
      print(cmd, ctx, page, () => versionsTable(page.model_versions));
    });
}
