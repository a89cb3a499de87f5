import type { Command } from "commander";
import { DataIntegrityError } from "../../errors.js";
import { checkpointChains, verifyChains } from "../../store/index.js";
import type { ChainsVerification } from "../../store/index.js";
import { configFor, group, print } from "../context.js";
import type { CliContext } from "../context.js";
import { chainSealing, withStores } from "../stores.js";

function verifyText(r: ChainsVerification): string {
  const lines = [
    r.audit.ok
      ? `audit log intact: ${r.audit.rows} rows verified`
      : `audit log BROKEN at row ${r.audit.brokenAt}: ${r.audit.reason}`,
    r.decisions.ok
      ? `decision records intact: ${r.decisions.records} verified`
      : `decision records BROKEN at record ${r.decisions.brokenAt}: ${r.decisions.reason}`,
  ];
  if (!r.checkpointsRead) lines.push("no audit keyring configured: checkpoints not read, chains checked on their own");
  else if (r.audit.ok && r.decisions.ok) {
    lines.push(
      `checkpoints matched: ${r.audit.checkpoints} of the audit log, ${r.decisions.checkpoints} of the decision records`,
    );
  }
  return lines.join("\n");
}

/** `keel audit verify|checkpoint`: the sealed audit chain and its checkpoints outside the database. */
export function auditCommand(program: Command, ctx: CliContext): void {
  const audit = group(program, "audit", "the tamper-evident audit log");
  audit
    .command("verify")
    .description("check every row's hash, seal and link and the checkpoints; name the first bad entry")
    .action(async (_flags: object, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const result = await withStores(config, (stores) => verifyChains(chainSealing(stores, config)));
      print(cmd, ctx, result, () => verifyText(result));
      if (!result.audit.ok) {
        throw new DataIntegrityError(
          `audit log broken at row ${result.audit.brokenAt} (${result.audit.rows} rows verified before it): ${result.audit.reason}`,
        );
      }
      if (!result.decisions.ok) {
        throw new DataIntegrityError(
          `decision records broken at record ${result.decisions.brokenAt} (${result.decisions.records} verified before it): ${result.decisions.reason}`,
        );
      }
    });
  audit
    .command("checkpoint")
    .description("record the audit log's and decision records' heads in signed files outside the database")
    .action(async (_flags: object, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const written = await withStores(config, (stores) => checkpointChains(chainSealing(stores, config)));
      print(cmd, ctx, written, () =>
        written.map((w) => `${w.checkpoint.chain} checkpoint at ${w.checkpoint.seq}: ${w.file}`).join("\n"),
      );
    });
}
