import type { Command } from "commander";
import { KeelClient } from "../../client/index.js";
import type { AliasMoveJson } from "../../client/index.js";
import type { KeelConfig } from "../../config.js";
import { CHAMPION_ALIAS, promoteAlias, rollbackAlias } from "../../registry/index.js";
import type { AliasMove } from "../../registry/index.js";
import { aliasMoveJson } from "../../server/index.js";
import { configFor, print } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

/** Who approves in the local store when `--approver` is not given (as other local CLI writes). */
const LOCAL_ACTOR = "cli";

/** The client of the server at the tracking URI, or undefined to work on the local store. */
export function clientFor(config: KeelConfig): KeelClient | undefined {
  if (config.trackingUri === undefined) return undefined;
  return new KeelClient({
    baseUrl: config.trackingUri,
    ...(config.token === undefined ? {} : { token: config.token }),
  });
}

/** Local moves answer in the server's JSON shape, so `--json` output is the same either way. */
async function localMove(
  config: KeelConfig,
  fn: (stores: Parameters<Parameters<typeof withStores>[1]>[0]) => Promise<AliasMove>,
): Promise<AliasMoveJson> {
  return withStores(config, async (stores) => {
    const m = await fn(stores);
    return aliasMoveJson(m, await stores.registry.getModelVersion(m.name, m.toVersion));
  });
}

function describeMove(m: AliasMoveJson): string {
  const was = m.from_version === null ? "was not set" : `was v${m.from_version}`;
  return `${m.name}: ${m.alias} -> v${m.to_version} (${was}) by ${m.actor}: ${m.reason}`;
}

/**
 * `keel promote NAME VERSION --to champion --reason TEXT [--approver NAME]` and
 * `keel rollback NAME [--alias champion] [--reason TEXT]`: against the server at the tracking URI
 * when one is configured (the token's name is the approver; the approver role is needed when
 * auth is on), otherwise against the local store.
 */
export function promoteCommand(program: Command, ctx: CliContext): void {
  program
    .command("promote <name> <version>")
    .description("point an alias (default champion) at a model version, recording who approved it and why")
    .option("--to <alias>", "alias to move", CHAMPION_ALIAS)
    .requiredOption("--reason <text>", "why this version is promoted (recorded in the audit log)")
    .option("--approver <name>", "who approves (local store; with a server, the token's name)")
    .action(
      async (name: string, version: string, flags: { to: string; reason: string; approver?: string }, cmd: Command) => {
        const config = configFor(cmd, ctx);
        const client = clientFor(config);
        const move =
          client !== undefined
            ? await client.promoteModel(name, {
                version,
                to: flags.to,
                reason: flags.reason,
                ...(flags.approver === undefined ? {} : { approver: flags.approver }),
              })
            : await localMove(config, (s) =>
                promoteAlias(s.registry, {
                  name,
                  version,
                  alias: flags.to,
                  approver: flags.approver ?? LOCAL_ACTOR,
                  reason: flags.reason,
                }),
              );
        print(cmd, ctx, move, () => `promoted ${describeMove(move)}`);
      },
    );

  program
    .command("rollback <name>")
    .description("move an alias (default champion) back to the version it pointed at before")
    .option("--alias <alias>", "alias to move back", CHAMPION_ALIAS)
    .option("--reason <text>", "why (recorded in the audit log)")
    .option("--actor <name>", "who rolls back (local store; with a server, the token's name)")
    .action(async (name: string, flags: { alias: string; reason?: string; actor?: string }, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const client = clientFor(config);
      const reason = flags.reason === undefined ? {} : { reason: flags.reason };
      const move =
        client !== undefined
          ? await client.rollbackModel(name, {
              alias: flags.alias,
              ...reason,
              ...(flags.actor === undefined ? {} : { actor: flags.actor }),
            })
          : await localMove(config, (s) =>
              rollbackAlias(s.registry, { name, alias: flags.alias, actor: flags.actor ?? LOCAL_ACTOR, ...reason }),
            );
      print(cmd, ctx, move, () => `rolled back ${describeMove(move)}`);
    });
}
