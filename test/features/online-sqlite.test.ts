import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { createSqliteOnlineStore } from "../../src/features/online-sqlite.js";
import { entityKey } from "../../src/features/online-store.js";
import { runOnlineStoreSuite } from "./online-store-suite.js";

const dir = mkdtempSync(path.join(tmpdir(), "keel-online-sqlite-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runOnlineStoreSuite("SQLite", () => createSqliteOnlineStore(path.join(dir, `online-${n++}.db`)));

it("SQLite: a failed write leaves the previous state, all of it", async () => {
  const store = createSqliteOnlineStore(path.join(dir, "crash.db"));
  const key = entityKey([1]);
  await store.write("v", [[{ entityKey: key, eventTime: 1, values: { x: 1 } }]]);
  function* crashing() {
    yield [{ entityKey: key, eventTime: 2, values: { x: 2 } }];
    throw new Error("crash");
  }
  await expect(store.write("v", crashing())).rejects.toThrow("crash");
  expect(await store.read("v", [key])).toEqual([{ eventTime: 1, values: { x: 1 } }]);
  await store.close();
});
