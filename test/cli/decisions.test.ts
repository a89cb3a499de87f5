import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { openStores } from "../../src/open-stores.js";
import type { DecisionJson } from "../../src/wire/index.js";
import { fixture } from "../serving/fixtures.js";
import { keel, keelServer } from "./helpers.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "keel-decisions-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("keel server killed -9 while recording decisions (audit: sync)", () => {
  it(
    "keeps every acknowledged decision, in a chain that verifies, shown and replayed by the CLI",
    { timeout: 180_000 },
    async () => {
      const xgb = fixture("xgb_binary.json");
      const config = loadConfig({ flags: { dataDir }, env: {} });
      const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
      await stores.migrate();
      await stores.artifacts.putFile("models/credit/model.json", new Uint8Array(readFileSync(xgb.file)));
      const blob = await stores.artifacts.statFile("models/credit/model.json");
      const mv = await stores.registry.createModelVersion({
        name: "credit",
        source: "mlflow-artifacts:/models/credit/model.json",
        checksum: blob.sha256,
      });
      await stores.registry.setAlias("credit", "champion", mv.version);
      await stores.close();
      const servingFile = path.join(dataDir, "serving.json");
      writeFileSync(
        servingFile,
        JSON.stringify({ endpoints: [{ name: "credit", model: "credit", inferenceLog: { audit: "sync" } }] }),
      );

      const { child, url } = await keelServer(["--port", "0", "--serving-config", servingFile], {
        KEEL_DATA_DIR: dataDir,
      });
      const acked: string[] = [];
      let killed = false;
      let cutOff = 0;
      const client = async (c: number) => {
        for (let i = 0; !killed; i++) {
          const id = `c${c}-${i}`;
          try {
            const res = await fetch(`${url}/api/keel/endpoints/credit/predict`, {
              method: "POST",
              headers: { "content-type": "application/json", "x-request-id": id },
              body: JSON.stringify(xgb.row(i % 200)),
            });
            if (res.status === 200) acked.push(id);
          } catch {
            cutOff++; // the server died with this request in flight: never acknowledged
            return;
          }
        }
      };
      const running = Array.from({ length: 4 }, (_, c) => client(c));
      while (acked.length < 60) await new Promise((r) => setTimeout(r, 5));
      // The clients keep sending until the process is gone, so at least one request is cut off.
      child.kill("SIGKILL");
      await new Promise<void>((r) =>
        child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()),
      );
      killed = true;
      await Promise.all(running);
      expect(child.signalCode).toBe("SIGKILL");
      expect(cutOff).toBeGreaterThan(0);

      const env = { KEEL_DATA_DIR: dataDir };
      const verify = await keel(["--json", "decisions", "verify"], env);
      expect(verify.code, verify.stderr).toBe(0);
      const verified = JSON.parse(verify.stdout) as { ok: boolean; records: number };
      expect(verified.ok).toBe(true);
      expect(verified.records).toBeGreaterThanOrEqual(acked.length);

      const exported = path.join(dataDir, "all.jsonl");
      const exp = await keel(["decisions", "export", "--from", "0", "--output", exported], env);
      expect(exp.code, exp.stderr).toBe(0);
      const recorded = new Set(
        readFileSync(exported, "utf8")
          .trim()
          .split("\n")
          .map((l) => (JSON.parse(l) as DecisionJson).request_id),
      );
      expect(acked.filter((id) => !recorded.has(id))).toEqual([]);

      const last = acked[acked.length - 1] as string;
      const show = await keel(["--json", "decisions", "show", last], env);
      expect(show.code, show.stderr).toBe(0);
      expect(JSON.parse(show.stdout)).toMatchObject({
        request_id: last,
        caller: "anonymous",
        artifact_sha256: blob.sha256,
      });
      const replay = await keel(["--json", "decisions", "replay", last], env);
      expect(replay.code, replay.stderr).toBe(0);
      expect(JSON.parse(replay.stdout)).toMatchObject({ request_id: last, match: true });

      const unknown = await keel(["decisions", "show", "never-sent"], env);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe('error: decision "never-sent" is not recorded\n');
      const badWindow = await keel(["decisions", "replay", "--from", "yesterday"], env);
      expect(badWindow.code).toBe(2);
      expect(badWindow.stderr).toContain("--from");
    },
  );
});
