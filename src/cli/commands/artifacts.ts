import type { Command } from "commander";
import { DataIntegrityError } from "../../errors.js";
import { copyBlobs, openBlobBackend } from "../../store/index.js";
import { configFor, group, print } from "../context.js";
import type { CliContext } from "../context.js";

const ARTIFACTS_DESCRIPTION = "artifact storage: copy the stored bytes to another destination (directory or S3)";

/**
 * `keel artifacts copy --to DEST`: copies every blob of the configured artifacts destination to
 * DEST (a directory or `s3://bucket/prefix`), verifying each and skipping those already there. The
 * tree of names is in the metadata database and does not move: after the copy, pointing
 * `--artifacts-destination` at DEST serves the same artifacts.
 */
export function artifactsCommand(program: Command, ctx: CliContext): void {
  group(program, "artifacts", ARTIFACTS_DESCRIPTION)
    .command("copy")
    .description("copy every artifact blob to another destination, verified; those already there are skipped")
    .requiredOption("--to <dir|s3-uri>", "the destination: a directory or s3://bucket/prefix")
    .action(async (flags: { to: string }, cmd: Command) => {
      const config = configFor(cmd, ctx);
      // The destination goes through the same loader as --artifacts-destination.
      const to = configFor(cmd, ctx, { artifactRoot: flags.to }).artifactRoot;
      const from = openBlobBackend(config.artifactRoot, config.s3);
      const dest = openBlobBackend(to, config.s3);
      try {
        const result = await copyBlobs(from, dest);
        print(cmd, ctx, { from: from.location, to: dest.location, ...result }, () =>
          [
            `copied ${result.copied} blobs (${result.bytes} bytes) from ${from.location} to ${dest.location}`,
            `${result.present} already there`,
            ...result.corrupted.map((sha) => `corrupted, not copied: ${sha}`),
          ].join("\n"),
        );
        if (result.corrupted.length > 0) {
          throw new DataIntegrityError(
            `${result.corrupted.length} blobs in ${from.location} no longer match their sha256 and were not copied`,
            { details: { corrupted: result.corrupted } },
          );
        }
      } finally {
        await Promise.all([from.close(), dest.close()]);
      }
    });
}
