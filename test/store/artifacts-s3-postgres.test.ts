import { afterAll, beforeAll } from "vitest";
import { postgresStores } from "./backends.js";
import { s3Artifacts } from "./artifact-fixtures.js";
import { runArtifactStoreSuite } from "./artifact-store-suite.js";
import { startS3Server, type TestS3Server } from "./s3-server.js";

let s3: TestS3Server;
beforeAll(async () => (s3 = await startS3Server()));
afterAll(() => s3.close());

runArtifactStoreSuite(
  "S3 (s3rver), index in PostgreSQL",
  s3Artifacts(() => s3, postgresStores),
);
