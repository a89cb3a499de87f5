import type { Command } from "commander";
import { configFor, print } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

/** `keel migrate`: bring the store's schema up to date (the server also does this on start). */
export function migrateCommand(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .description("create or upgrade the metadata store's schema")
    .action(async (_flags: object, cmd: Command) => {
      const config = configFor(cmd, ctx);
      // withStores migrates before it hands the stores over.
      await withStores(config, () => Promise.resolve());
      print(
        cmd,
        ctx,
        { backend_store_uri: redactUri(config.backendStoreUri), migrated: true },
        () => `schema up to date: ${redactUri(config.backendStoreUri)}`,
      );
    });
}

/** Never print a database password. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:/@]+):([^@]*)@/, "//$1:***@");
}
