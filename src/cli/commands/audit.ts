import type { Command } from "commander";
import { DataIntegrityError } from "../../errors.js";
import { configFor, group, print } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

/** `keel audit verify`: recompute the audit log's hash chain; exit 1 at the first broken link. */
export function auditCommand(program: Command, ctx: CliContext): void {
  group(program, "audit", "the tamper-evident audit log")
    .command("verify")
    .description("check every row's hash and link; report the first broken one")
    .action(async (_flags: object, cmd: Command) => {
      const result = await withStores(configFor(cmd, ctx), (stores) => stores.audit.verifyAuditChain());
      if (result.ok) {
        print(cmd, ctx, result, () => `audit log intact: ${result.rows} rows verified`);
        return;
      }
      print(cmd, ctx, result, () => `audit log BROKEN at row ${result.brokenAt}: ${result.reason}`);
      throw new DataIntegrityError(
        `audit log broken at row ${result.brokenAt} (${result.rows} rows verified before it): ${result.reason}`,
      );
    });
}
