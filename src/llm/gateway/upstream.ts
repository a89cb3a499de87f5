/**
 * Calls to an OpenAI-compatible upstream: retried on connection errors, timeouts, 429 and 5xx,
 * then the fallback upstream; any other answer (a 400 …) is the caller's and is passed on.
 */
import type { UpstreamConfig } from "./config.js";
import { GatewayError } from "./openai-wire.js";

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface UpstreamReply {
  readonly response: Response;
  readonly upstream: UpstreamConfig;
  readonly attempts: number;
}

const retryable = (status: number) => status === 429 || status >= 500;

async function once(fetchFn: FetchLike, u: UpstreamConfig, path: string, body: unknown): Promise<Response> {
  return fetchFn(`${u.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(u.apiKey === undefined ? {} : { authorization: `Bearer ${u.apiKey}` }),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(u.timeoutMs),
  });
}

/** `body` goes to `{url}{path}`; `model` is filled from each upstream's config when `body` has none. */
export async function callUpstream(
  fetchFn: FetchLike,
  upstreams: readonly UpstreamConfig[],
  retries: number,
  path: string,
  body: Record<string, unknown>,
): Promise<UpstreamReply> {
  let attempts = 0;
  let last = "";
  for (const u of upstreams) {
    const sent = body.model === undefined && u.model !== undefined ? { ...body, model: u.model } : body;
    for (let i = 0; i <= retries; i++) {
      attempts++;
      try {
        const response = await once(fetchFn, u, path, sent);
        if (!retryable(response.status)) return { response, upstream: u, attempts };
        last = `HTTP ${response.status}`;
        await response.body?.cancel();
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
    }
  }
  throw new GatewayError(
    502,
    `upstream failed after ${attempts} attempts: ${last}`,
    "api_error",
    "upstream_unavailable",
  );
}

/** The `data:` payloads of a server-sent-events body, as they arrive. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, at);
      buffer = buffer.slice(at).replace(/^\r?\n\r?\n/, "");
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data !== "") yield data;
    }
  }
}
