import path from "node:path";
import type { Command } from "commander";
import { InvalidParameterError, InvalidStateError } from "../../errors.js";
import { checkRetraining, readRetrainingPolicyFile, type RetrainingOutcome } from "../../pipeline/index.js";
import { configFor, print, table } from "../context.js";
import type { CliContext } from "../context.js";
import { retrainingDeps } from "../retraining.js";
import { withStores } from "../stores.js";

interface RetrainFlags {
  policy: string;
  check?: boolean;
  run?: boolean;
  model?: string;
}

function outcomeJson(o: RetrainingOutcome) {
  return {
    model: o.decision.model,
    at: new Date(o.decision.at).toISOString(),
    retrain: o.decision.retrain,
    fired: o.decision.fired,
    triggers: o.decision.triggers,
    ...(o.run === undefined ? {} : { run: o.run }),
    ...(o.skipped === undefined ? {} : { skipped: o.skipped }),
  };
}

function render(o: RetrainingOutcome): string {
  const d = o.decision;
  const head = d.retrain ? `${d.model}: retrain due (${d.fired.join(", ")})` : `${d.model}: no retrain due`;
  const rows = d.triggers.map((t) => [t.trigger, t.fired ? "FIRED" : "no", t.reason]);
  const lines = [head, table(["TRIGGER", "FIRED", "WHY"], rows)];
  if (o.run !== undefined) {
    const r = o.run;
    lines.push(
      r.status === "passed" && r.registered !== undefined
        ? `pipeline run ${r.runId} passed: registered version ${r.registered.version} as "${r.registered.alias}"; promote it with: keel promote ${d.model} ${r.registered.version} --to champion --reason TEXT`
        : `pipeline run ${r.runId} ${r.status}${r.failure === undefined ? "" : `: ${r.failure}`}`,
    );
  } else if (o.skipped !== undefined) {
    lines.push(`pipeline not run: ${o.skipped}${o.skipped.startsWith("check only") ? " (add --run to run it)" : ""}`);
  }
  return lines.join("\n");
}

/**
 * `keel retrain --check --policy FILE [--run] [--model NAME] [--json]`: evaluates the retraining
 * policy now and prints which triggers fired and why. Exit 0 whether or not a retrain is due; with
 * `--run` a due pipeline runs (registering a challenger), and a pipeline that fails exits 1.
 */
export function retrainCommand(program: Command, ctx: CliContext): void {
  program
    .command("retrain")
    .description("check the retraining policy (model age, drift, performance, new labels) and optionally retrain")
    .requiredOption("--policy <file>", "retraining policy (JSON, docs/retraining.md)")
    .option("--check", "evaluate the triggers and print the decision (the default)")
    .option("--run", "also run the pipeline when a trigger fired (the new version becomes the challenger)")
    .option("--model <name>", "only the policy of this model")
    .action(async (flags: RetrainFlags, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const file = await readRetrainingPolicyFile(path.resolve(ctx.cwd, flags.policy));
      const selected =
        flags.model === undefined ? file.policies : file.policies.filter((p) => p.policy.model === flags.model);
      if (selected.length === 0) {
        throw new InvalidParameterError(
          `--model ${JSON.stringify(flags.model)}: ${flags.policy} has no policy for it (models: ${file.policies.map((p) => p.policy.model).join(", ")})`,
          { details: { field: "model", value: flags.model } },
        );
      }
      const outcomes = await withStores(config, async (stores) => {
        const deps = retrainingDeps(stores);
        const out: RetrainingOutcome[] = [];
        for (const p of selected)
          out.push(await checkRetraining(p.policy, deps, { run: flags.run === true, baseDir: p.baseDir }));
        return out;
      });
      print(cmd, ctx, { decisions: outcomes.map(outcomeJson) }, () => outcomes.map(render).join("\n\n"));
      const failed = outcomes.filter(
        (o) => o.run?.status === "failed" || (flags.run === true && o.skipped?.startsWith("pipeline") === true),
      );
      if (failed.length > 0) {
        throw new InvalidStateError(
          `retraining pipeline failed for ${failed.map((o) => `${o.decision.model} (${o.run?.failure ?? o.skipped ?? ""})`).join(", ")}`,
        );
      }
    });
}
