import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeelError } from "../../../src/errors.js";
import { openStores } from "../../../src/open-stores.js";
import { postgresStores } from "../backends.js";
import { startS3Server, type TestS3Server } from "../s3-server.js";

let s3: TestS3Server;
beforeAll(async () => (s3 = await startS3Server()));
afterAll(() => s3.close());

describe("two servers on one PostgreSQL database and one bucket", () => {
  it("see each other's artifacts, replacements and deletions at once", async () => {
    const destination = `s3://${s3.bucket}/shared`;
    const a = await postgresStores({ artifactRoot: destination, s3: s3.connection });
    const b = openStores({ backendStoreUri: a.uri, artifactRoot: destination, s3: s3.connection });
    try {
      const path = "3/run/artifacts/model/model.json";
      const v1 = new TextEncoder().encode('{"version":1}');
      await a.stores.artifacts.putFile(path, v1);
      expect(await b.artifacts.getFile(path)).toEqual(v1);
      expect(await b.artifacts.list("3/run/artifacts/model")).toEqual([{ path, isDir: false, fileSize: v1.length }]);
      const v2 = new TextEncoder().encode('{"version":2}');
      await b.artifacts.putFile(path, v2);
      expect(await a.stores.artifacts.getFile(path)).toEqual(v2);
      expect(await a.stores.artifacts.deletePath("3/run")).toBe(1);
      const gone = await b.artifacts.getFile(path).catch((e: unknown) => e);
      expect((gone as KeelError).code).toBe("RESOURCE_DOES_NOT_EXIST");
    } finally {
      await b.close();
      await a.close();
    }
  });
});
