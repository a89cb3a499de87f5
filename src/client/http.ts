import { ERROR_CATALOG, UnavailableError, keelErrorOf } from "../errors.js";
import type { ErrorCode } from "../errors.js";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface KeelClientOptions {
  /** e.g. `http://127.0.0.1:5000` */
  readonly baseUrl: string;
  /** Bearer token, when the server has auth on. */
  readonly token?: string;
  /** Injectable for tests and for runtimes with their own fetch. */
  readonly fetch?: FetchLike;
}

export type Params = object;
export type Method = "GET" | "POST" | "PATCH" | "DELETE";

function paramText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

export function queryString(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params) as [string, unknown][]) {
    if (v === undefined || v === null) continue;
    for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) {
      q.append(k, paramText(item));
    }
  }
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERROR_CATALOG, code);
}

/**
 * The transport of keel's typed client: the token, one fetch per call, and server errors turned
 * back into the KeelError subclass of the server's code (NotFoundError …) with its message and details.
 */
export class KeelHttp {
  private readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly fetchFn: FetchLike;

  constructor(options: KeelClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  }

  private async raise(res: Response): Promise<never> {
    const text = await res.text();
    let body: { error_code?: unknown; message?: unknown; details?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = { message: text };
    }
    const code: ErrorCode = isErrorCode(body.error_code)
      ? body.error_code
      : res.status === 404
        ? "RESOURCE_DOES_NOT_EXIST"
        : "INTERNAL_ERROR";
    const message = typeof body.message === "string" && body.message !== "" ? body.message : `HTTP ${res.status}`;
    const details =
      typeof body.details === "object" && body.details !== null ? (body.details as Record<string, unknown>) : undefined;
    throw keelErrorOf(code, message, details === undefined ? undefined : { details });
  }

  /** One exchange with the server (`path` with its query): the response when it is 2xx, else its error. */
  protected async send(
    method: Method | "PUT",
    path: string,
    body?: { contentType: string; data: string | Uint8Array<ArrayBuffer> },
  ): Promise<Response> {
    const auth: Record<string, string> = this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
    let res: Response;
    try {
      res = await this.fetchFn(
        this.baseUrl + path,
        body === undefined
          ? { method, headers: auth }
          : { method, headers: { ...auth, "content-type": body.contentType }, body: body.data },
      );
    } catch (cause) {
      throw new UnavailableError(`cannot reach ${this.baseUrl}: ${(cause as Error).message}`, { cause });
    }
    return res.ok ? res : this.raise(res);
  }

  /** One call: GET puts parameters in the query string, the others send them as JSON. */
  async request<T>(method: Method, path: string, params: Params = {}): Promise<T> {
    const res =
      method === "GET"
        ? await this.send(method, path + queryString(params))
        : await this.send(method, path, { contentType: "application/json", data: JSON.stringify(params) });
    const text = await res.text();
    return (text === "" ? {} : JSON.parse(text)) as T;
  }

  /** A GET answered with text (Prometheus exposition, rendered model cards). */
  protected async getText(path: string): Promise<string> {
    return (await this.send("GET", path)).text();
  }
}
