/**
 * The PostgreSQL and Redis that tests use, in one place: KEEL_TEST_PG_URL and KEEL_TEST_REDIS_URL,
 * defaulting to the servers .ci/run starts on this machine.
 */
export const TEST_PG_URL = process.env.KEEL_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
export const TEST_REDIS_URL = process.env.KEEL_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A backend-store URI on the test database whose tables live in `schema` (test files run in parallel). */
export function pgSchemaUri(schema: string): string {
  const url = new URL(TEST_PG_URL);
  url.searchParams.set("schema", schema);
  return url.toString();
}
