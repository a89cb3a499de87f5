/* eslint-disable @typescript-eslint/no-explicit-any --
   MLflow's JSON answers are read field by field, as MLflow's own REST tests read response.json(). */
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
  close(): Promise<void>;
}

/** The backends every case runs on: SQLite, then PostgreSQL in a fresh schema. */
export const BACKENDS = ["SQLite", "PostgreSQL"] as const;
export type Backend = (typeof BACKENDS)[number];

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
    close: () => server.close(),
  };
  return api;
}
