import path from "node:path";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createApp } from "../../src/server/app.js";
import { startMonitoring } from "../../src/server/monitoring-wiring.js";
import { ModelServer } from "../../src/serving/index.js";
import { FIXTURES } from "../serving/fixtures.js";
import { fixtureLoader } from "../serving/harness.js";
import { postgresStores, sqliteStores, type MakeStores } from "../store/backends.js";

/** One route as the app lists it. */
interface RouteEntry {
  readonly method: string;
  readonly url: string;
}

/**
 * Every route of the app, read from `printRoutes` (a tree whose lines are `<indent>── <segment>
 * (METHODS)`, each segment appended to its parent's path), so a new route is fuzzed without
 * touching this file.
 */
export function routesOf(app: FastifyInstance): RouteEntry[] {
  const out: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const m = /^(.*?)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (m === null) continue;
    const depth = (m[1] ?? "").length / 4;
    const url = (stack[depth - 1] ?? "") + (m[2] ?? "");
    stack[depth] = url;
    stack.length = depth + 1;
    for (const method of (m[3] ?? "").split(", ").filter((x) => x !== "" && x !== "HEAD")) out.push({ method, url });
  }
  return out;
}

const FIELDS = [
  "name",
  "version",
  "alias",
  "filter",
  "experiment_id",
  "run_id",
  "key",
  "value",
  "stage",
  "description",
  "inputs",
  "instances",
  "dataframe_split",
  "labels",
  "shadows",
  "champion",
  "entities",
  "max_results",
  "order_by",
  "page_token",
  "tags",
  "metrics",
  "params",
  "source",
  "new_name",
];

/** Values that broke servers before: deep nesting, huge strings, numbers where names go, NUL bytes. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  // Values that pass the first checks, so the request reaches the stores.
  fc.constantFrom("loans", "1", "0", "champion", "Production", "Archived", "run-1", true, 1, 0.5, ["loans"]),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom("1e400", "\u0000name", "x".repeat(70_000), -1, Infinity, 2 ** 64, NaN, "", "../../etc/passwd", "*"),
  fc.integer({ min: 1, max: 5000 }).map((n) => Array.from({ length: n }, (_, i) => ({ name: `s${i}`, weight: 1 }))),
);

const body: fc.Arbitrary<string> = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), hostileValue, { maxKeys: 5 }).map((o) => JSON.stringify(o)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 1_000, max: 20_000 }).map((d) => "[".repeat(d) + "]".repeat(d)),
  fc.integer({ min: 1_000, max: 20_000 }).map((d) => '{"a":'.repeat(d) + "1" + "}".repeat(d)),
  fc.string({ maxLength: 40 }),
);

const query: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom(...FIELDS),
  fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("1e400", "\u0000", "-5", "x".repeat(5000), "name = 'a'")),
  { maxKeys: 3 },
);

const param = fc.oneof(fc.constantFrom("loans", "1", "champion", "%00", "x".repeat(600)), fc.string({ maxLength: 12 }));

/** keel's error body, or the Open Inference Protocol's `{"error": "..."}` on its own routes. */
function inErrorFormat(url: string, body: Record<string, unknown>): boolean {
  if (url.startsWith("/v2/")) return typeof body.error === "string" && Object.keys(body).length === 1;
  return typeof body.error_code === "string" && typeof body.message === "string";
}

/** What one request broke, if anything: a 5xx, an error outside the format, an oversized error body. */
async function probe(
  app: FastifyInstance,
  route: RouteEntry,
  params: string[],
  q: Record<string, string>,
  payload: string,
  headers: Record<string, string>,
) {
  let i = 0;
  const url = route.url.replace(/:[A-Za-z_]+|\*/g, () => encodeURIComponent(params[i++ % 3] ?? "x"));
  const res = await app.inject({
    method: route.method as "GET",
    url,
    query: q,
    headers: route.method === "GET" ? headers : { ...headers, "content-type": "application/json" },
    ...(route.method === "GET" ? {} : { payload }),
  });
  const what = `${route.method} ${url} → ${res.statusCode}`;
  if (res.statusCode >= 500) return `${what} ${res.body.slice(0, 200)}`;
  if (res.statusCode >= 400 && res.headers["content-type"]?.toString().includes("json")) {
    if (!inErrorFormat(url, JSON.parse(res.body) as Record<string, unknown>)) {
      return `${what} not in keel's error format: ${res.body.slice(0, 200)}`;
    }
    if (res.body.length > 4096) return `${what} error body of ${res.body.length} bytes`;
  }
  return undefined;
}

/**
 * The app with model serving and monitoring wired, as `keel server` runs it, over a fresh store of
 * each backend (PostgreSQL refuses what SQLite takes, NUL characters for one).
 */
function fuzzOn(backend: string, make: MakeStores, numRuns: number, authEnabled = false): void {
  describe(`every route under hostile bodies and queries (${backend}${authEnabled ? ", auth on" : ""})`, () => {
    let app: FastifyInstance;
    const headers: Record<string, string> = {};
    let stop: () => Promise<void>;
    beforeAll(async () => {
      const t = await make();
      const { registry } = t.stores;
      const mv = await registry.createModelVersion({ name: "loans", source: path.join(FIXTURES, "xgb_binary.json") });
      await registry.setAlias("loans", "champion", mv.version);
      const serving = new ModelServer({ registry, loadModel: fixtureLoader, pollIntervalMs: 100 });
      await serving.start();
      const monitoring = startMonitoring(t.stores, {});
      const config = loadConfig({
        flags: {
          port: 0,
          dataDir: path.dirname(t.artifactRoot),
          logLevel: "silent",
          backendStoreUri: t.uri,
          authEnabled,
        },
        env: {},
      });
      app = await createApp({ config, stores: t.stores, serving, monitoring: monitoring.services });
      if (authEnabled) {
        // An admin passes every role check, so the requests reach the handlers and their guards.
        headers.authorization = `Bearer ${(await t.stores.tokens.create({ name: "fuzz", role: "admin" })).token}`;
      }
      stop = async () => {
        await app.close();
        await monitoring.stop();
        await serving.stop();
        await t.close();
      };
    });
    afterAll(() => stop());

    it("lists the routes from the app itself", () => {
      const routes = routesOf(app);
      expect(routes.length).toBeGreaterThan(80);
      expect(routes).toContainEqual({ method: "POST", url: "/v2/models/:name/infer" });
      expect(routes).toContainEqual({ method: "DELETE", url: "/api/2.0/mlflow/registered-models/delete-tag" });
    });

    it("answers no request with a status of 500 or more, and every error in keel's format", async () => {
      // The ajax-api copies share their handlers with /api; fuzzing one of each keeps the run short.
      const routes = routesOf(app).filter((r) => !r.url.startsWith("/ajax-api/"));
      const failures: string[] = [];
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...routes),
          fc.array(param, { minLength: 3, maxLength: 3 }),
          query,
          body,
          async (route, params, q, payload) => {
            const failure = await probe(app, route, params, q, payload, headers);
            if (failure !== undefined) failures.push(failure);
            return true;
          },
        ),
        { numRuns, seed: 20261204 },
      );
      expect(failures).toEqual([]);
    });
  });
}

fuzzOn("SQLite", sqliteStores, 400);
fuzzOn("PostgreSQL", postgresStores, 200, true);
