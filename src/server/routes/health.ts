import { createRequire } from "node:module";
import type { RoutePlugin } from "../app-deps.js";

/** Liveness and version, as MLflow's server exposes them (`/health` → `OK`, `/version` → text). */
export const healthRoutes: RoutePlugin = (app) => {
  // Read once when the app is built; src/ and dist/ sit at the same depth below package.json.
  const { version } = createRequire(import.meta.url)("../../../package.json") as { version: string };
  app.get("/health", { config: { role: "none" } }, async (_req, reply) =>
    reply.type("text/plain; charset=utf-8").send("OK"),
  );
  app.get("/version", { config: { role: "none" } }, async (_req, reply) =>
    reply.type("text/plain; charset=utf-8").send(version),
  );
};
