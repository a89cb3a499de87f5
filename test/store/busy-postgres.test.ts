import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openMetadataDb } from "../../src/store/metadata-db.js";
import { pgSchemaUri, TEST_PG_URL } from "../services.js";

const schema = `keel_busy_${process.pid}_${randomBytes(4).toString("hex")}`;
const meta = openMetadataDb(pgSchemaUri(schema));
afterAll(async () => {
  await meta.close();
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  await client.query(`drop schema if exists ${schema} cascade`);
  await client.end();
});

/** What node-postgres throws: a DatabaseError with the SQLSTATE as `code`. */
const pgError = (code: string) => Object.assign(new Error(`could not serialize access (${code})`), { code });

describe("lock races on PostgreSQL", () => {
  it("runs a transaction again after a serialization failure or a deadlock, and not after other errors", async () => {
    await meta.migrate();
    for (const code of ["40001", "40P01"]) {
      let attempts = 0;
      const value = await meta.transaction(async (tx) => {
        attempts++;
        await tx.selectFrom("audit_head").select("seq").execute();
        if (attempts < 3) throw pgError(code);
        return attempts;
      });
      expect(value, code).toBe(3);
    }
    let once = 0;
    await expect(
      meta.transaction(() => {
        once++;
        return Promise.reject(pgError("23503"));
      }),
    ).rejects.toThrow("23503");
    expect(once).toBe(1);
  });
});
