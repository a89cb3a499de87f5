import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { openStores } from "../../src/open-stores.js";
import { startModelServing } from "../../src/server/model-serving.js";
import { startServer } from "../../src/server/start.js";
import { postgresStores, sqliteStores, type MakeStores } from "../store/backends.js";
import { FIXTURES, fixture } from "./fixtures.js";
import { get, post } from "./harness.js";

const v1 = fixture("xgb_binary.json");

/** `keel server`'s own wiring (stores → model serving → HTTP) over one metadata database. */
async function boot(uri: string, artifactRoot: string) {
  const config = loadConfig({
    flags: { port: 0, host: "127.0.0.1", backendStoreUri: uri, artifactRoot, logLevel: "silent" },
    env: {},
  });
  const stores = openStores({ backendStoreUri: uri, artifactRoot });
  await stores.migrate();
  const model = await startModelServing(stores, config);
  const server = await startServer({ config, stores, serving: model.serving });
  return {
    url: server.url,
    async stop() {
      await server.close();
      await model.stop();
      await stores.close();
    },
  };
}

type Listed = { endpoints: { name: string; configured: boolean; versions: Record<string, string> }[] };

function suite(name: string, make: MakeStores) {
  describe(`endpoints created through the API on ${name}`, () => {
    it("survive a restart, and a delete survives one too", async () => {
      const t = await make();
      try {
        const a = await t.stores.registry.createModelVersion({
          name: "credit",
          source: path.join(FIXTURES, "xgb_binary.json"),
        });
        const b = await t.stores.registry.createModelVersion({
          name: "credit",
          source: path.join(FIXTURES, "xgb_binary_base.json"),
        });
        await t.stores.registry.setAlias("credit", "champion", a.version);

        let running = await boot(t.uri, t.artifactRoot);
        try {
          const put = await fetch(`${running.url}/api/keel/endpoints/loans`, {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              model: "credit",
              shadows: [{ version: b.version }],
              decision: { threshold: 0.3, positive: "reject", negative: "approve" },
            }),
          });
          expect(put.status).toBe(200);
          // a document that fails validation is neither served nor kept
          const bad = await fetch(`${running.url}/api/keel/endpoints/broken`, {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "credit", challenger: { alias: "challenger", percent: 140 } }),
          });
          expect(bad.status).toBe(400);
        } finally {
          await running.stop();
        }

        running = await boot(t.uri, t.artifactRoot);
        try {
          const listed = (await get(`${running.url}/api/keel/endpoints`)).body as Listed;
          const loans = listed.endpoints.find((e) => e.name === "loans");
          expect(loans).toMatchObject({ configured: true, versions: { champion: a.version, shadow0: b.version } });
          expect(listed.endpoints.some((e) => e.name === "broken")).toBe(false);
          const r = await post(`${running.url}/api/keel/endpoints/loans/predict`, [v1.row(4)]);
          expect(r.status).toBe(200);
          const p = (r.body as { predictions: { score: number; decision: string }[] }).predictions[0];
          expect(p?.score).toBeCloseTo(v1.expected[4] as number, 6);
          expect(p?.decision).toBe((v1.expected[4] as number) >= 0.3 ? "reject" : "approve");

          const del = await fetch(`${running.url}/api/keel/endpoints/loans`, { method: "DELETE" });
          expect(del.status).toBe(200);
        } finally {
          await running.stop();
        }

        running = await boot(t.uri, t.artifactRoot);
        try {
          const listed = (await get(`${running.url}/api/keel/endpoints`)).body as Listed;
          expect(listed.endpoints.map((e) => e.name)).toEqual(["credit"]);
          expect((await post(`${running.url}/api/keel/endpoints/loans/predict`, [v1.row(4)])).status).toBe(404);
        } finally {
          await running.stop();
        }
        const audit = await t.stores.audit.list({ targetType: "serving_endpoint" });
        expect(audit.map((x) => [x.action, x.targetId])).toEqual([
          ["serving_endpoint.put", "loans"],
          ["serving_endpoint.delete", "loans"],
        ]);
      } finally {
        await t.close();
      }
    });
  });
}

suite("SQLite", sqliteStores);
suite("PostgreSQL", postgresStores);
