import type { Command } from "commander";
import { parseRole } from "../../server/index.js";
import type { Role } from "../../server/index.js";
import { specError } from "../../spec-fields.js";
import { configFor, group, isoTime, print, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

/** Whoever runs the CLI on the store's machine manages users; the audit log records it as this actor. */
const CLI_ACTOR = { userId: "cli" };

/** `keel users create|list|delete`: users who sign in with a username and password (HTTP Basic). */
export function usersCommand(program: Command, ctx: CliContext): void {
  const users = group(program, "users", "users who sign in to the server with a username and password");

  users
    .command("create <username>")
    .description(
      "add a user; the password comes from --password or KEEL_USER_PASSWORD and only its scrypt hash is kept",
    )
    .option("--password <password>", "the user's password (at least 8 characters)")
    .option(
      "--role <role>",
      "reader, writer, reviewer, approver or admin",
      (v: string) => parseRole(v, "--role"),
      "writer",
    )
    .action(async (username: string, flags: { password?: string; role: Role }, cmd: Command) => {
      const password = flags.password ?? ctx.env.KEEL_USER_PASSWORD;
      if (password === undefined || password === "") {
        throw specError("--password", "", "required (or set KEEL_USER_PASSWORD)");
      }
      const user = await withStores(configFor(cmd, ctx), (s) =>
        s.users.create({ username, password, role: flags.role }, CLI_ACTOR),
      );
      print(
        cmd,
        ctx,
        { id: user.id, username: user.username, role: user.role },
        () => `created user ${user.username} (${user.role})`,
      );
    });

  users
    .command("list")
    .description("list users (never their passwords)")
    .action(async (_flags: object, cmd: Command) => {
      const list = await withStores(configFor(cmd, ctx), (s) => s.users.list());
      const rows = list.map((u) => ({
        id: u.id,
        username: u.username,
        role: u.role,
        created_at: u.createdAt,
        created_by: u.createdBy,
      }));
      print(cmd, ctx, { users: rows }, () =>
        table(
          ["USERNAME", "ROLE", "CREATED", "CREATED BY"],
          list.map((u) => [u.username, u.role, isoTime(u.createdAt), u.createdBy]),
        ),
      );
    });

  users
    .command("delete <username>")
    .description("delete a user and their permissions; their requests get 401 from then on")
    .action(async (username: string, _flags: object, cmd: Command) => {
      await withStores(configFor(cmd, ctx), (s) => s.users.delete(username, CLI_ACTOR));
      print(cmd, ctx, { deleted: username }, () => `deleted user ${username}`);
    });
}
