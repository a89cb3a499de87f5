import type { Command } from "commander";
import type { CanaryApprovalJson, RolloutCandidateJson, RolloutReportJson } from "../../client/index.js";
import { eventTime, DEFAULT_ROLLOUT_WINDOW_MS, modelRolloutReport } from "../../monitoring/index.js";
import { canaryApprovalJson, rolloutReportJson } from "../../server/index.js";
import { specError } from "../../spec-fields.js";
import { configFor, group, print, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";
import { clientFor } from "./promote.js";

/** Who approves in the local store when `--approver` is not given (as other local CLI writes). */
const LOCAL_ACTOR = "cli";

const parseTime = (flag: string) => (value: string) => eventTime(value, flag);

function unitInterval(flag: string, open: boolean): (value: string) => number {
  return (value) => {
    const v = Number(value);
    const ok = value.trim() !== "" && (open ? v > 0 && v < 1 : v >= 0 && v < 1);
    if (!ok) throw specError(flag, Number.isFinite(v) ? v : value, `must be a number in ${open ? "(0, 1)" : "[0, 1)"}`);
    return v;
  };
}

const f4 = (v: number | null | undefined): string => (v === null || v === undefined ? "-" : v.toFixed(4));
const ms = (v: number | undefined): string => (v === undefined ? "-" : `${v >= 0 ? "+" : ""}${v.toFixed(3)}`);

function renderReport(r: RolloutReportJson): string {
  const head = `${r.model}: against champion v${r.champion_version}, ${r.from} to ${r.to}, threshold ${r.threshold} (${r.champion_requests} champion answers)`;
  const rows = r.candidates.map((c: RolloutCandidateJson) => [
    `v${c.version}`,
    c.routes.join(","),
    String(c.requests),
    String(c.paired),
    f4(c.agreement),
    f4(c.ks),
    f4(c.mean_abs_score_difference),
    f4(c.p99_abs_score_difference),
    ms(c.latency?.mean_difference_ms),
    String(c.labelled),
    f4(c.comparison?.auc_difference),
    c.comparison === null ? "-" : `${f4(c.comparison.ci_low)}..${f4(c.comparison.ci_high)}`,
    c.comparison === null ? "-" : c.comparison.p_value.toPrecision(3),
    c.comparison?.verdict ?? "awaiting labels",
  ]);
  const headers = [
    "version",
    "routes",
    "requests",
    "paired",
    "agreement",
    "ks",
    "mean|Δ|",
    "p99|Δ|",
    "Δlatency_ms",
    "labelled",
    "auc_diff",
    "ci",
    "p_value",
    "verdict",
  ];
  return `${head}\n${table(headers, rows)}`;
}

/**
 * `keel rollout report NAME [--from --to] [--alpha] [--min-effect]` and `keel rollout approve NAME
 * VERSION --reason TEXT`: against the server at the tracking URI when one is configured,
 * otherwise against the local store (docs/serving.md, rollouts).
 */
export function rolloutCommand(program: Command, ctx: CliContext): void {
  const rollout = group(program, "rollout", "shadow, challenger and canary rollouts held against the champion");
  rollout
    .command("report <name>")
    .description("every non-champion version that got traffic against the champion on the same requests")
    .option(
      "--from <time>",
      "start of the window (epoch ms or ISO-8601; default: 72 hours before --to)",
      parseTime("--from"),
    )
    .option("--to <time>", "end of the window (epoch ms or ISO-8601; default: now)", parseTime("--to"))
    .option("--alpha <a>", "significance level of the paired comparison (default 0.05)", unitInterval("--alpha", true))
    .option(
      "--min-effect <d>",
      "smallest AUC gain that counts as better (default 0)",
      unitInterval("--min-effect", false),
    )
    .action(
      async (name: string, flags: { from?: number; to?: number; alpha?: number; minEffect?: number }, cmd: Command) => {
        const config = configFor(cmd, ctx);
        const to = flags.to ?? Date.now();
        const from = flags.from ?? to - DEFAULT_ROLLOUT_WINDOW_MS;
        if (from >= to) throw specError("--from", from, "must be before --to");
        const client = clientFor(config);
        const report =
          client !== undefined
            ? await client.getRolloutReport(name, {
                from,
                to,
                ...(flags.alpha !== undefined ? { alpha: flags.alpha } : {}),
                ...(flags.minEffect !== undefined ? { min_effect: flags.minEffect } : {}),
              })
            : await withStores(config, async (s) =>
                rolloutReportJson(
                  await modelRolloutReport(s, {
                    modelName: name,
                    from,
                    to,
                    ...(flags.alpha !== undefined ? { alpha: flags.alpha } : {}),
                    ...(flags.minEffect !== undefined ? { minEffect: flags.minEffect } : {}),
                  }),
                ),
              );
        print(cmd, ctx, report, () => renderReport(report));
      },
    );

  rollout
    .command("approve <name> <version>")
    .description("let a version's canary take 100% of traffic and become champion when it finishes")
    .requiredOption("--reason <text>", "why (recorded with the approval and the promotion)")
    .option("--approver <name>", "who approves (local store; with a server, the token's name)")
    .action(async (name: string, version: string, flags: { reason: string; approver?: string }, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const client = clientFor(config);
      let approval: CanaryApprovalJson;
      if (client !== undefined) {
        approval = await client.approveCanary(name, {
          version: version,
          reason: flags.reason,
          ...(flags.approver !== undefined ? { approver: flags.approver } : {}),
        });
      } else {
        approval = await withStores(config, async (s) => {
          await s.registry.getModelVersion(name, version);
          return canaryApprovalJson(
            await s.canaries.approve({
              modelName: name,
              modelVersion: version,
              approver: flags.approver ?? LOCAL_ACTOR,
              reason: flags.reason,
            }),
          );
        });
      }
      print(
        cmd,
        ctx,
        approval,
        () => `${approval.model} v${approval.version}: canary approved by ${approval.approver}: ${approval.reason}`,
      );
    });
}
