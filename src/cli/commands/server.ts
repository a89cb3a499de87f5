import type { Command } from "commander";
import { openStores } from "../../open-stores.js";
import path from "node:path";
import { startModelServing } from "../../server/model-serving.js";
import { startServer } from "../../server/start.js";
import { configFor } from "../context.js";
import type { CliContext } from "../context.js";

/** `keel server`: migrate, serve, print `listening on URL`, stop cleanly on SIGTERM / SIGINT. */
export function serverCommand(program: Command, ctx: CliContext): void {
  program
    .command("server")
    .description("run the tracking, registry and serving server")
    .option("--host <host>", "interface to listen on (env KEEL_HOST, default 127.0.0.1)")
    .option("--port <port>", "port to listen on, 0 for any free port (env KEEL_PORT, default 5000)")
    .option(
      "--serving-config <file>",
      "endpoints with traffic policies and batching for model serving (JSON, docs/serving.md)",
    )
    .action(async (opts: { host?: string; port?: string; servingConfig?: string }, cmd: Command) => {
      const config = configFor(cmd, ctx, { host: opts.host, port: opts.port });
      const stores = openStores({
        backendStoreUri: config.backendStoreUri,
        artifactRoot: config.artifactRoot,
        ...(config.webhookSecret === undefined ? {} : { webhookSecret: config.webhookSecret }),
      });
      try {
        await stores.migrate();
        const model = await startModelServing(stores, config, {
          ...(opts.servingConfig !== undefined ? { servingFile: path.resolve(ctx.cwd, opts.servingConfig) } : {}),
          onError: (message, error) => ctx.err(`${message}: ${error instanceof Error ? error.message : String(error)}`),
        });
        const server = await startServer({ config, stores, serving: model.serving });
        ctx.out(`listening on ${server.url}`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off("SIGTERM", stop);
            process.off("SIGINT", stop);
            resolve();
          };
          process.on("SIGTERM", stop);
          process.on("SIGINT", stop);
        });
        await server.close();
        await model.stop();
      } finally {
        await stores.close();
      }
    });
}
