import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { isKeelError } from "../errors.js";
import { commandWord } from "./argv.js";
import { commands } from "./commands/index.js";
import type { CliContext } from "./context.js";

/**
 * The program with the command `argv` runs fully registered and every other command present by
 * name and summary only, so a run imports one command's modules and `--help` imports none.
 */
export async function buildProgram(ctx: CliContext, argv: readonly string[] = []): Promise<Command> {
  // src/ and dist/ sit at the same depth below package.json.
  const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };
  const program = new Command("keel")
    .description("keep machine-learning models honest in production")
    .version(version)
    .option("--data-dir <dir>", "directory of the embedded store (env KEEL_DATA_DIR, default ./keel-data)")
    .option("--backend-store-uri <uri>", "sqlite:///path or postgresql://... (env KEEL_BACKEND_STORE_URI)")
    .option(
      "--artifacts-destination <dir|s3-uri>",
      "artifact directory or s3://bucket/prefix (env KEEL_ARTIFACT_ROOT, default <data-dir>/artifacts)",
    )
    .option("--tracking-uri <url>", "talk to a running keel server instead of the local store (env KEEL_TRACKING_URI)")
    .option("--token <token>", "bearer token for --tracking-uri (env KEEL_TOKEN)")
    .option("--json", "print machine-readable JSON")
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => ctx.out(s.trimEnd()), writeErr: (s) => ctx.err(s.trimEnd()) });
  const word = commandWord(argv);
  const chosen = commands.find((entry) => entry.name === word);
  if (chosen) for (const register of await chosen.load()) register(program, ctx);
  for (const entry of commands) {
    if (!program.commands.some((c) => c.name() === entry.name)) program.command(entry.name).description(entry.summary);
  }
  return program;
}

/** Usage errors exit 2, everything else that fails exits 1; never a stack trace. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    const program = await buildProgram(ctx, argv);
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
