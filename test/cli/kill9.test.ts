import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { openStores } from "../../src/open-stores.js";
import { keelServer } from "./helpers.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "keel-kill9-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("kill -9 during a burst of log-batch calls", () => {
  it("leaves a readable store holding every acknowledged write", { timeout: 180_000 }, async () => {
    const { child, url } = await keelServer(["--port", "0", "--data-dir", dataDir]);
    const client = new KeelClient({ baseUrl: url });
    const experimentId = await client.createExperiment("burst");
    const run = await client.createRun({ experiment_id: experimentId });
    const runId = run.info.run_id;

    const writers = 4;
    const perBatch = 200;
    const acked: number[][] = Array.from({ length: writers }, () => []);
    let killed = false;
    let unacknowledged = 0;
    const writer = async (w: number) => {
      for (let batch = 0; !killed; batch++) {
        const metrics = Array.from({ length: perBatch }, (_, i) => ({
          key: `w${w}`,
          value: batch * perBatch + i,
          timestamp: 1_700_000_000_000 + batch,
          step: batch * perBatch + i,
        }));
        try {
          await client.logBatch(runId, { metrics, params: [{ key: `p${w}_${batch}`, value: String(batch) }] });
          acked[w]!.push(batch);
        } catch {
          unacknowledged++; // the server died with this batch in flight: it was never acknowledged
          return;
        }
      }
    };
    const running = Array.from({ length: writers }, (_, w) => writer(w));
    // Kill once a fair number of batches are in, while every writer still has one in flight.
    while (acked.reduce((n, a) => n + a.length, 0) < 40) await new Promise((r) => setTimeout(r, 5));
    // The writers keep sending until the process is gone, so at least one call is cut off.
    child.kill("SIGKILL");
    await new Promise<void>((r) =>
      child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()),
    );
    killed = true;
    await Promise.all(running);
    expect(child.signalCode).toBe("SIGKILL");
    // The kill landed mid-burst: some calls were cut off in flight.
    expect(unacknowledged).toBeGreaterThan(0);

    const config = loadConfig({ flags: { dataDir }, env: {} });
    const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
    try {
      await stores.migrate();
      const stored = await stores.tracking.getRun(runId);
      const params = new Map(stored.data.params.map((p) => [p.key, p.value]));
      for (let w = 0; w < writers; w++) {
        const steps = new Set<number>();
        let pageToken: string | undefined;
        do {
          const page = await stores.tracking.getMetricHistory(runId, `w${w}`, {
            maxResults: 25_000,
            ...(pageToken === undefined ? {} : { pageToken }),
          });
          for (const m of page.items) {
            expect(m.value).toBe(m.step);
            steps.add(m.step);
          }
          pageToken = page.nextPageToken;
        } while (pageToken !== undefined);
        for (const batch of acked[w]!) {
          for (let i = 0; i < perBatch; i++) expect(steps.has(batch * perBatch + i)).toBe(true);
          expect(params.get(`p${w}_${batch}`)).toBe(String(batch));
        }
        // A batch is all or nothing: what is stored is whole batches only.
        expect(steps.size % perBatch).toBe(0);
      }
      const verified = await stores.audit.verifyAuditChain();
      expect(verified.ok).toBe(true);
    } finally {
      await stores.close();
    }
  });
});
