import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { isKeelError } from "../errors.js";
import { commands } from "./commands/index.js";
import type { CliContext } from "./context.js";

export function buildProgram(ctx: CliContext): Command {
  // src/ and dist/ sit at the same depth below package.json.
  const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };
  const program = new Command("keel")
    .description("keep machine-learning models honest in production")
    .version(version)
    .option("--data-dir <dir>", "directory of the embedded store (env KEEL_DATA_DIR, default ./keel-data)")
    .option("--backend-store-uri <uri>", "sqlite:///path or postgresql://... (env KEEL_BACKEND_STORE_URI)")
    .option("--tracking-uri <url>", "talk to a running keel server instead of the local store (env KEEL_TRACKING_URI)")
    .option("--token <token>", "bearer token for --tracking-uri (env KEEL_TOKEN)")
    .option("--json", "print machine-readable JSON")
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => ctx.out(s.trimEnd()), writeErr: (s) => ctx.err(s.trimEnd()) });
  for (const register of commands) register(program, ctx);
  return program;
}

/** Usage errors exit 2, everything else that fails exits 1; never a stack trace. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander already printed its one-line message (or the help text).
      // `--help` asked for is success; help shown because a command was missing is a usage error.
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0) return 0;
      return 2;
    }
    if (isKeelError(e)) {
      ctx.err(`error: ${e.message}`);
      return e.code === "INVALID_PARAMETER_VALUE" ? 2 : 1;
    }
    ctx.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
