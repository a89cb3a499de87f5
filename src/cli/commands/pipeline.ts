import path from "node:path";
import type { Command } from "commander";
import { InvalidParameterError, InvalidStateError, NotFoundError } from "../../errors.js";
import { createFeatureRegistry } from "../../features/index.js";
import { runPipelineFile, type PipelineResult, type StepEvent } from "../../pipeline/index.js";
import { withStores } from "../stores.js";
import { configFor, group, print, table } from "../context.js";
import type { CliContext } from "../context.js";

/** One line per step as it ends: `  ✓ train  (cached, 0.1 s)  gbdt on 10 features`. */
export function stepLine(e: StepEvent): string {
  const mark = e.status === "passed" ? "ok  " : e.status === "failed" ? "FAIL" : "skip";
  const extra = [e.cached === true ? "cached" : "", e.seconds === undefined ? "" : `${e.seconds.toFixed(1)} s`]
    .filter((s) => s !== "")
    .join(", ");
  return `  ${mark} ${e.step.padEnd(9)} ${extra === "" ? "" : `(${extra}) `}${e.message ?? ""}`.trimEnd();
}

/** The human summary of a finished run. */
export function renderResult(r: PipelineResult): string {
  const lines = [`pipeline ${r.pipeline}: ${r.status.toUpperCase()} (run ${r.runId})`];
  if (r.metrics !== undefined) {
    const m = r.metrics;
    lines.push(
      table(
        ["metric", "validation"],
        ["auc", "ks", "fnr", "log_loss", "brier"]
          .filter((k) => m[k] !== undefined)
          .map((k) => [k, (m[k] as number).toFixed(4)]),
      ),
    );
  }
  for (const g of r.gates ?? []) lines.push(`  ${g.message}`);
  for (const b of r.behaviour ?? []) lines.push(`  ${b.message}`);
  lines.push(
    `lineage: data sha256 ${r.lineage.dataHash}, config sha256 ${r.lineage.configHash}, code ${r.lineage.codeVersion ?? "(not in git)"}`,
  );
  if (r.registered !== undefined) {
    lines.push(
      r.registered.reused
        ? `${r.registered.name} version ${r.registered.version} already holds this model, data and config; nothing new registered`
        : `registered ${r.registered.name} version ${r.registered.version} as "${r.registered.alias}"`,
    );
  }
  return lines.join("\n");
}

/** Not-found files in a pipeline (definition, suite, data) are the caller's input errors (exit 2). */
export function asInputError(e: unknown): unknown {
  return e instanceof NotFoundError
    ? new InvalidParameterError(e.message, {
        cause: e,
        ...(e.details === undefined ? {} : { details: { ...e.details } }),
      })
    : e;
}

/** `keel pipeline run FILE [--no-cache] [--json]`: exit 0 passed, 1 failed, 2 bad input. */
export function pipelineCommand(program: Command, ctx: CliContext): void {
  group(program, "pipeline", "run training pipelines")
    .command("run")
    .description("validate, split, train, evaluate, gate, test and register, as a pipeline file (JSON, YAML, JS) says")
    .argument("<file>", "pipeline definition (.json, .yaml, .yml, .js, .mjs)")
    .option("--no-cache", "recompute every step instead of reusing cached outputs")
    .action(async (file: string, opts: { cache: boolean }, cmd: Command) => {
      const json = cmd.optsWithGlobals<{ json?: boolean }>().json === true;
      const result = await withStores(configFor(cmd, ctx), async (stores) => {
        try {
          return await runPipelineFile(
            path.resolve(ctx.cwd, file),
            {
              tracking: stores.tracking,
              registry: stores.registry,
              artifacts: stores.artifacts,
              features: createFeatureRegistry(stores.metadata),
              decisions: stores.decisions,
            },
            {
              cache: opts.cache,
              ...(json ? {} : { onStep: (e) => e.phase === "end" && ctx.out(stepLine(e)) }),
            },
          );
        } catch (e) {
          throw asInputError(e);
        }
      });
      print(cmd, ctx, result, () => renderResult(result));
      if (result.status === "failed") {
        throw new InvalidStateError(
          `pipeline ${result.pipeline} failed at ${result.failedStep ?? "a step"}: ${result.failure ?? ""}`,
          { details: { field: result.failedStep ?? "pipeline", value: result.runId, rule: result.failure ?? "" } },
        );
      }
    });
}
