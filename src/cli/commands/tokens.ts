import type { Command } from "commander";
import { parseRole } from "../../server/index.js";
import type { Role } from "../../server/index.js";
import { configFor, group, isoTime, print, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

/** Whoever runs the CLI on the store's machine manages tokens; the audit log records it as this actor. */
const CLI_ACTOR = { userId: "cli" };

/** `keel tokens create|list|revoke`: bearer tokens for the server's auth. */
export function tokensCommand(program: Command, ctx: CliContext): void {
  const tokens = group(program, "tokens", "bearer tokens for the server (auth is on with KEEL_AUTH=true)");

  tokens
    .command("create")
    .description("issue a token; it is printed once and only its hash is kept")
    .requiredOption("--name <name>", "who or what holds it, e.g. ci or alice")
    .requiredOption("--role <role>", "reader, predictor, writer, reviewer, approver or admin", (v: string) =>
      parseRole(v, "--role"),
    )
    .action(async (flags: { name: string; role: Role }, cmd: Command) => {
      const { token, info } = await withStores(configFor(cmd, ctx), (s) =>
        s.tokens.create({ name: flags.name, role: flags.role }, CLI_ACTOR),
      );
      print(cmd, ctx, { token, id: info.id, name: info.name, role: info.role }, () =>
        [`created token ${info.id} (${info.name}, ${info.role}); it is shown only now:`, token].join("\n"),
      );
    });

  tokens
    .command("list")
    .description("list tokens (never their secrets)")
    .option("--all", "include revoked tokens")
    .action(async (flags: { all?: boolean }, cmd: Command) => {
      const list = await withStores(configFor(cmd, ctx), (s) => s.tokens.list({ includeRevoked: flags.all === true }));
      const rows = list.map((t) => ({
        id: t.id,
        name: t.name,
        role: t.role,
        created_at: t.createdAt,
        created_by: t.createdBy,
        revoked_at: t.revokedAt,
      }));
      print(cmd, ctx, { tokens: rows }, () =>
        table(
          ["ID", "NAME", "ROLE", "CREATED", "REVOKED"],
          list.map((t) => [t.id, t.name, t.role, isoTime(t.createdAt), isoTime(t.revokedAt)]),
        ),
      );
    });

  tokens
    .command("revoke <id>")
    .description("revoke a token; requests carrying it get 401 from then on")
    .action(async (id: string, _flags: object, cmd: Command) => {
      await withStores(configFor(cmd, ctx), (s) => s.tokens.revoke(id, CLI_ACTOR));
      print(cmd, ctx, { revoked: id }, () => `revoked token ${id}`);
    });
}
