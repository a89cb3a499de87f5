import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KeelClient, createApp, loadConfig, openKeel } from "../src/index.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "keel-lib-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("keel as a library", () => {
  it("logs a run in-process that the server then serves from the same store", async () => {
    let now = 1_700_000_000_000;
    const keel = await openKeel({ dataDir, user: "alice", clock: () => now++ });
    const run = await keel.startRun({ experiment: "loan-default", runName: "gbdt-1", tags: { team: "risk" } });
    await run.logParams({ model: "gbdt", max_depth: 5 });
    for (let step = 0; step < 3; step++) await run.logMetrics({ auc: 0.7 + step / 20, loss: 1 / (step + 1) }, step);
    await run.logArtifact("model/model.json", new TextEncoder().encode('{"kind":"gbdt"}'));
    await run.end();
    // Reusing the experiment by name: no second "loan-default".
    const again = await keel.startRun({ experiment: "loan-default" });
    expect(again.experimentId).toBe(run.experimentId);
    await keel.close();

    const config = loadConfig({ flags: { dataDir, port: 0, logLevel: "silent" }, env: {} });
    const reopened = await openKeel({ dataDir });
    const app = await createApp({ config, stores: reopened.stores });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const address = app.server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      const client = new KeelClient({ baseUrl: `http://127.0.0.1:${port}` });
      const served = await client.getRun(run.runId);
      expect(served.info).toMatchObject({ run_name: "gbdt-1", status: "FINISHED", user_id: "alice" });
      expect(Object.fromEntries((served.data.params ?? []).map((p) => [p.key, p.value]))).toEqual({
        model: "gbdt",
        max_depth: "5",
      });
      const auc = (served.data.metrics ?? []).find((m) => m.key === "auc");
      expect(auc?.step).toBe(2);
      expect(auc?.value).toBeCloseTo(0.8, 12);
      const history = await client.getMetricHistory(run.runId, "loss");
      expect(history.metrics?.map((m) => m.value)).toEqual([1, 1 / 2, 1 / 3]);
      const root = `${run.experimentId}/${run.runId}/artifacts`;
      expect(new TextDecoder().decode(await client.downloadArtifact(`${root}/model/model.json`))).toBe(
        '{"kind":"gbdt"}',
      );
    } finally {
      await app.close();
      await reopened.close();
    }
  });
});
