import type { FastifyInstance } from "fastify";
import type { AppDeps } from "./app.js";
import { createApp } from "./app.js";

export interface RunningServer {
  readonly app: FastifyInstance;
  /** e.g. `http://127.0.0.1:5000`, with the real port when 0 was asked for. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Builds the app and listens on `config.host:config.port` (port 0 picks a free one). */
export async function startServer(deps: AppDeps): Promise<RunningServer> {
  const app = await createApp(deps);
  await app.listen({ host: deps.config.host, port: deps.config.port });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : deps.config.port;
  const host = deps.config.host;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return { app, url: `http://${urlHost}:${port}`, host, port, close: () => app.close() };
}
