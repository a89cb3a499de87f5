/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return --
   MLflow's JSON answers are read field by field, as MLflow's own REST tests read response.json(). */
import { afterAll, beforeAll, describe } from "vitest";
import { freshPostgresUri, startTestServer, type TestServer } from "../helpers.js";

export interface Answer {
  readonly status: number;
  readonly json: any;
}

/** keel's server over HTTP, spoken to as MLflow's REST clients speak (JSON bodies, query strings). */
export interface MlflowApi {
  readonly server: TestServer;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  get(path: string, query?: Record<string, string | number | readonly string[]>): Promise<Answer>;
  post(path: string, body: unknown): Promise<Answer>;
  /** Posts and expects 200, returning the body. */
  ok(method: string, path: string, body?: unknown): Promise<any>;
  /** Creates an experiment; its id. */
  newExperiment(name: string, extra?: Record<string, unknown>): Promise<string>;
  /** Creates a run in the experiment; its id. */
  newRun(experimentId: string, extra?: Record<string, unknown>): Promise<string>;
  /** The run as `runs/get` returns it. */
  getRun(runId: string): Promise<any>;
  /** The ids `runs/search` returns for the experiment, in order. */
  searchRunIds(experimentId: string, body?: Record<string, unknown>): Promise<string[]>;
  close(): Promise<void>;
}

/** MLflow's key/value lists (params, tags) as an object. */
export const asMap = (list: { key: string; value: unknown }[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((x) => [x.key, x.value]));

/** The backends every case runs on: SQLite, then PostgreSQL in a fresh schema. */
export const BACKENDS = ["SQLite", "PostgreSQL"] as const;
export type Backend = (typeof BACKENDS)[number];

/** Runs `cases` once per backend; `use` gets that backend's API before its cases run. */
export function describeOnBackends(use: (api: MlflowApi) => void, cases: () => void): void {
  describe.each(BACKENDS)("on %s", (backend) => {
    let api: MlflowApi | undefined;
    beforeAll(async () => {
      api = await openMlflowApi(backend);
      use(api);
    });
    afterAll(async () => {
      await api?.close();
    });
    cases();
  });
}

export async function openMlflowApi(backend: Backend = "SQLite"): Promise<MlflowApi> {
  const server = await startTestServer(
    backend === "PostgreSQL" ? { backendStoreUri: freshPostgresUri("mlflow_compat") } : {},
  );
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const url = path.startsWith("/") ? `${server.url}${path}` : `${server.url}/api/2.0/mlflow/${path}`;
    const res = await fetch(url, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = text === "" ? {} : JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  };
  const api: MlflowApi = {
    server,
    call,
    get(path, query = {}) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (Array.isArray(v)) for (const x of v as readonly string[]) qs.append(k, x);
        else qs.append(k, String(v));
      }
      const q = qs.toString();
      return call("GET", q === "" ? path : `${path}?${q}`);
    },
    post: (path, body) => call("POST", path, body),
    async ok(method, path, body) {
      const a = await call(method, path, body);
      if (a.status !== 200) throw new Error(`${method} ${path} answered ${a.status}: ${JSON.stringify(a.json)}`);
      return a.json;
    },
    newExperiment: async (name, extra = {}) =>
      ((await api.ok("POST", "experiments/create", { name, ...extra })) as { experiment_id: string }).experiment_id,
    newRun: async (experimentId, extra = {}) =>
      (
        (await api.ok("POST", "runs/create", { experiment_id: experimentId, ...extra })) as {
          run: { info: { run_id: string } };
        }
      ).run.info.run_id,
    getRun: async (runId) => ((await api.ok("GET", `runs/get?run_id=${runId}`)) as { run: any }).run,
    searchRunIds: async (experimentId, body = {}) =>
      (
        (
          (await api.ok("POST", "runs/search", { experiment_ids: [experimentId], ...body })) as {
            runs?: { info: { run_id: string } }[];
          }
        ).runs ?? []
      ).map((r) => r.info.run_id),
    close: () => server.close(),
  };
  return api;
}
