import { loadConfig } from "../src/config.js";
import { openStores } from "../src/open-stores.js";
import { startModelServing } from "../src/server/model-serving.js";
import { startServer } from "../src/server/start.js";
import { parseEndpointConfig } from "../src/serving/index.js";

/**
 * `keel server`'s serving wiring in a process of its own, over the embedded store the serving
 * benchmark prepared in `argv[2]`: the server's peak RSS is its own, and it can run under
 * `node --cpu-prof`. Tells the parent its URL over IPC; on "stop" it closes and reports its peak RSS.
 */
const runDir = process.argv[2];
const shadowVersion = process.argv[3];
if (runDir === undefined || shadowVersion === undefined || process.send === undefined) {
  console.error("usage: serving-server.ts RUN_DIR SHADOW_VERSION (started by bench/serving.ts over IPC)");
  process.exit(2);
}
const config = loadConfig({ flags: { port: 0, dataDir: runDir, logLevel: "silent" }, env: {} });
const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
const model = await startModelServing(stores, config);
const serving = model.serving;
await serving.putEndpoint(
  parseEndpointConfig({ name: "loans-shadow", model: "loans", shadows: [{ version: shadowVersion }] }),
);
await serving.putEndpoint(
  parseEndpointConfig({ name: "loans-nolog", model: "loans", inferenceLog: { sampleRate: 0 } }),
);
await serving.putEndpoint(parseEndpointConfig({ name: "loans-explain", model: "loans", explain: { top_k: 3 } }));
const server = await startServer({ config, stores, serving });
process.send({ url: server.url });
process.on("message", (message) => {
  if (message !== "stop") return;
  void (async () => {
    await server.close();
    await model.stop();
    await stores.close();
    // resourceUsage().maxRSS is in KiB.
    process.send?.({ peakRssBytes: process.resourceUsage().maxRSS * 1024 }, () => process.exit(0));
  })();
});
