import type { Command } from "commander";
import { configFor } from "../context.js";
import type { CliContext } from "../context.js";
import { startKeelServer, untilSignal, type ServeOptions } from "../serve.js";
import { withStores } from "../stores.js";

/** `keel server`: migrate, serve, print `listening on URL`, stop cleanly on SIGTERM / SIGINT. */
export function serverCommand(program: Command, ctx: CliContext): void {
  program
    .command("server")
    .description("run the tracking, registry, serving and monitoring server")
    .option("--host <host>", "interface to listen on (env KEEL_HOST, default 127.0.0.1)")
    .option("--port <port>", "port to listen on, 0 for any free port (env KEEL_PORT, default 5000)")
    .option(
      "--grpc-port <port>",
      "also serve the Open Inference Protocol over gRPC on this port, 0 for any free port (env KEEL_GRPC_PORT, default off)",
    )
    .option(
      "--serving-config <file>",
      "endpoints with traffic policies and batching for model serving (JSON, docs/serving.md)",
    )
    .option("--monitoring-config <file>", "monitored models, windows, alert rules and sinks (JSON, docs/monitoring.md)")
    .option(
      "--retraining-policy <file>",
      "retraining policies checked on their cron schedules (JSON, docs/retraining.md)",
    )
    .option("--llm-config <file>", "LLM gateway routes, prices, trace retention, prompt gates (JSON/YAML, docs/llm.md)")
    .option(
      "--roles <roles>",
      "what this replica does: api, serving, scheduler, comma-separated (default all; docs/deploy.md)",
    )
    .option(
      "--lease-seconds <seconds>",
      "lease period of scheduled jobs: a dead replica's jobs move to another within it (default 15)",
    )
    .action(async (opts: { host?: string; port?: string; grpcPort?: string } & ServeOptions, cmd: Command) => {
      const config = configFor(cmd, ctx, { host: opts.host, port: opts.port, grpcPort: opts.grpcPort });
      await withStores(config, async (stores) => {
        const keel = await startKeelServer(stores, config, ctx, opts);
        ctx.out(`listening on ${keel.server.url}`);
        if (keel.grpc !== undefined) ctx.out(`gRPC inference listening on ${keel.grpc.address}`);
        await untilSignal();
        await keel.close();
      });
    });
}
