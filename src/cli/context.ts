import type { Command } from "commander";
import { KeelClient } from "../client/index.js";
import { loadConfig } from "../config.js";
import type { KeelConfig } from "../config.js";
import { specError } from "../spec-fields.js";

/** What a command may touch of the outside world; `main.ts` passes the real process in. */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  readonly dataDir?: string;
  readonly backendStoreUri?: string;
  readonly artifactsDestination?: string;
  readonly trackingUri?: string;
  readonly token?: string;
  readonly json?: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** The config for this invocation: the global flags, then the environment, through the one loader. */
export function configFor(
  cmd: Command,
  ctx: CliContext,
  flags: {
    host?: string | undefined;
    port?: string | number | undefined;
    grpcPort?: string | number | undefined;
    artifactRoot?: string | undefined;
  } = {},
): KeelConfig {
  const g = globalOptions(cmd);
  return loadConfig({
    flags: {
      dataDir: g.dataDir,
      backendStoreUri: g.backendStoreUri,
      artifactRoot: flags.artifactRoot ?? g.artifactsDestination,
      trackingUri: g.trackingUri,
      token: g.token,
      host: flags.host,
      port: flags.port,
      grpcPort: flags.grpcPort,
    },
    env: ctx.env,
    cwd: ctx.cwd,
  });
}

/** A client of the server at the tracking URI (with the token), or undefined to work on the local store. */
export function serverClient(config: KeelConfig): KeelClient | undefined {
  if (config.trackingUri === undefined) return undefined;
  return new KeelClient({
    baseUrl: config.trackingUri,
    ...(config.token === undefined ? {} : { token: config.token }),
  });
}

/** Prints `data` as JSON under `--json`, otherwise the human rendering. */
export function print(cmd: Command, ctx: CliContext, data: unknown, human: () => string): void {
  if (globalOptions(cmd).json === true) ctx.out(JSON.stringify(data, null, 2));
  else ctx.out(human());
}

/**
 * The subcommand group `name` of `program`, created on first use, so that several command files
 * can add subcommands to one group (e.g. `models list` here and `models register` elsewhere).
 */
export function group(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  return existing ?? program.command(name).description(description);
}

/** Aligned plain-text table for human output. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "(none)";
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "" : new Date(ms).toISOString();
}

/** Commander argument parser for a positive integer option; bad values are usage errors. */
export function positiveInt(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
      throw specError(flag, value, "must be a positive integer");
    }
    return n;
  };
}

/** Commander collector for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A page printed as its table, then the flag that fetches the next page when there is more. */
export function printPage(
  cmd: Command,
  ctx: CliContext,
  page: { readonly next_page_token?: string | undefined },
  render: () => string,
): void {
  print(cmd, ctx, page, () => {
    const more = page.next_page_token === undefined ? "" : `\nnext page: --page-token ${page.next_page_token}`;
    return render() + more;
  });
}

/** `list` and `search` over one paged search: ordering and paging on both, `--filter` on search only. */
export function listAndSearchCommands<F>(
  parent: Command,
  spec: {
    readonly list: string;
    readonly search: string;
    readonly orderByExample: string;
    readonly filterExample: string;
    /** Options both commands require, added first. */
    readonly required?: (c: Command) => Command;
  },
  action: (flags: F, cmd: Command) => Promise<void>,
): void {
  for (const [name, description] of [
    ["list", spec.list],
    ["search", spec.search],
  ] as const) {
    let c = parent.command(name).description(description);
    if (spec.required !== undefined) c = spec.required(c);
    c.option("--order-by <clause>", `e.g. '${spec.orderByExample}' (repeatable)`, collect)
      .option("--max-results <n>", "page size", positiveInt("--max-results"))
      .option("--page-token <token>", "continue from a previous page");
    if (name === "search") c.option("--filter <expr>", `e.g. "${spec.filterExample}"`);
    c.action(action);
  }
}
