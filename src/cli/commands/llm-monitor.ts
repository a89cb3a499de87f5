import type { Command } from "commander";
import { KeelLlmClient } from "../../client/index.js";
import type { ObservationJson } from "../../client/index.js";
import { InvalidParameterError } from "../../errors.js";
import { observationJson } from "../../server/index.js";
import { parseTime } from "../../store/index.js";
import { configFor, group, print, serverClient, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

interface MonitorFlags {
  run?: boolean;
  from?: string;
  to?: string;
}

/** The latest window's series: one row per metric (and guardrail check), one column per prompt version. */
function windowTable(observations: readonly ObservationJson[]): string {
  const latest = observations.reduce((end, o) => (o.window_end > end ? o.window_end : end), "");
  const rows = observations.filter((o) => o.window_end === latest);
  if (rows.length === 0) return "(no LLM monitor window yet)";
  const versions = [...new Set(rows.flatMap((o) => (o.model_version === null ? [] : [o.model_version])))].sort();
  const keys = [...new Set(rows.map((o) => `${o.metric}\u0000${o.feature ?? ""}`))];
  const cell = (key: string, version: string | null) => {
    const o = rows.find((r) => `${r.metric}\u0000${r.feature ?? ""}` === key && r.model_version === version);
    return o === undefined ? "" : String(Number(o.value.toPrecision(6)));
  };
  const first = rows[0] as ObservationJson;
  return [
    `${first.model_name}: window ${first.window_start} – ${first.window_end}`,
    table(
      ["METRIC", "CHECK", "ROUTE", ...versions],
      keys.map((k) => {
        const [metric, check] = k.split("\u0000") as [string, string];
        return [metric, check, cell(k, null), ...versions.map((v) => cell(k, v))];
      }),
    ),
  ].join("\n");
}

/** The `keel llm` group's description: evaluation commands (llm.ts) and monitoring (here) share it. */
export const LLM_GROUP =
  "LLM evaluation and monitoring: datasets, evaluation runs, paired comparison, judge calibration, route monitor windows";

type Query = (q: { order?: "desc"; limit?: number; from?: number; to?: number }) => Promise<ObservationJson[]>;

async function latestWindow(query: Query): Promise<ObservationJson[]> {
  const newest = (await query({ order: "desc", limit: 1 }))[0];
  if (newest === undefined) return [];
  const start = Date.parse(newest.window_start);
  return query({ from: start, to: start + 1 });
}

/** `keel llm monitor ROUTE [--run --from T --to T]` (docs/llm.md, "Monitoring"). */
export function llmMonitorCommand(program: Command, ctx: CliContext): void {
  const llm = group(program, "llm", LLM_GROUP);
  llm
    .command("monitor <route>")
    .description("an LLM route's latest monitor window (per prompt version), or run one on the server with --run")
    .option("--run", "run the window [--from, --to) now on the server: judge sample, review routing, alert rules")
    .option("--from <time>", "window start (ISO 8601 or epoch ms), with --run")
    .option("--to <time>", "window end (ISO 8601 or epoch ms), with --run")
    .action(async (route: string, flags: MonitorFlags, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const client = serverClient(config);
      if (flags.run === true) {
        if (flags.from === undefined || flags.to === undefined)
          throw new InvalidParameterError("--run needs --from and --to", { details: { field: "from" } });
        if (client === undefined)
          throw new InvalidParameterError(
            "--run needs a server (--tracking-uri or KEEL_TRACKING_URI): the judge calls go through its gateway",
            { details: { field: "tracking-uri" } },
          );
        const run = await new KeelLlmClient(client).runLlmMonitor({
          route,
          from: parseTime(flags.from, "--from"),
          to: parseTime(flags.to, "--to"),
        });
        print(cmd, ctx, run, () =>
          [
            `${run.requests} requests, ${run.judged} judged now (${run.judge_errors} judge errors), ${run.queued_for_review} queued for review`,
            windowTable(run.observations),
            ...run.alerts_fired.map((a) => `alert fired: [${a.tier}] ${a.rule_id}: ${a.summary}`),
          ].join("\n"),
        );
        return;
      }
      // The newest window's start, then that window's series.
      const observations =
        client !== undefined
          ? await latestWindow((q) => client.getObservations({ model: route, kind: "llm", ...q }))
          : await withStores(config, (stores) =>
              latestWindow(async (q) =>
                (
                  await stores.observations.query({
                    modelName: route,
                    kind: "llm",
                    ...(q.order === undefined ? {} : { order: q.order }),
                    ...(q.limit === undefined ? {} : { limit: q.limit }),
                    ...(q.from === undefined ? {} : { from: q.from }),
                    ...(q.to === undefined ? {} : { to: q.to }),
                  })
                ).map(observationJson),
              ),
            );
      print(cmd, ctx, observations, () => windowTable(observations));
    });
}
