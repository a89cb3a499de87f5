/**
 * Streaming chat completions (server-sent events in OpenAI's chunk format). Output guardrails need
 * the whole answer, so the gateway decides per route:
 * - no output check that can change the text (none, or `flag` only): chunks pass through as they
 *   arrive; the checks run on the assembled answer at the end and are recorded on the trace;
 * - a `redact` or `block` check: chunks are held until the upstream is done, the assembled answer
 *   is checked, and the client gets it (redacted, or empty with finish_reason `content_filter`)
 *   as one content chunk per choice. Nothing unchecked ever reaches the client.
 */
import type { GuardrailDecision } from "../guardrails/index.js";
import { sseData } from "./upstream.js";

export interface StreamOutcome {
  /** The assembled content of each choice, by index. */
  readonly contents: readonly string[];
  /** The upstream's finish reason of each choice, by index (null when it sent none). */
  readonly finishReasons: readonly (string | null)[];
  readonly usage: Record<string, unknown>;
  /** The first chunk's id, created time and model. */
  readonly head: {
    readonly id?: string | undefined;
    readonly created?: number | undefined;
    readonly model?: string | undefined;
  };
}

export interface StreamVerdict {
  /** Per choice: the decision of the output checks and the redacted text. */
  readonly choices: readonly ({ decision: GuardrailDecision; redacted: string } | undefined)[];
}

export interface RelayOptions {
  /** Hold the chunks until `onEnd` has decided. */
  readonly buffer: boolean;
  /** The client asked for the final usage chunk (`stream_options.include_usage`). */
  readonly includeUsage: boolean;
  readonly onEnd: (outcome: StreamOutcome) => Promise<StreamVerdict>;
  readonly onError: (error: unknown) => Promise<void>;
}

interface Chunk {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: { index?: number; delta?: { role?: string; content?: string | null }; finish_reason?: string | null }[];
  usage?: Record<string, unknown> | null;
  [key: string]: unknown;
}

const event = (data: unknown) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

export async function* relayStream(body: ReadableStream<Uint8Array>, options: RelayOptions): AsyncGenerator<string> {
  const contents: string[] = [];
  const finish: (string | null)[] = [];
  let usage: Record<string, unknown> = {};
  let head: Chunk | undefined;
  try {
    for await (const data of sseData(body)) {
      if (data.trim() === "[DONE]") break;
      const chunk = JSON.parse(data) as Chunk;
      head ??= chunk;
      if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage;
      for (const c of chunk.choices ?? []) {
        const i = c.index ?? 0;
        contents[i] = (contents[i] ?? "") + (c.delta?.content ?? "");
        if (c.finish_reason !== undefined && c.finish_reason !== null) finish[i] = c.finish_reason;
      }
      const usageOnly = (chunk.choices ?? []).length === 0 && chunk.usage !== undefined && chunk.usage !== null;
      if (!options.buffer && (!usageOnly || options.includeUsage)) {
        // The client did not ask for usage: the field it would not expect is dropped.
        yield event(options.includeUsage ? data : JSON.stringify({ ...chunk, usage: undefined }));
      }
    }
  } catch (e) {
    await options.onError(e);
    yield event({
      error: {
        message: `upstream stream failed: ${e instanceof Error ? e.message : String(e)}`,
        type: "api_error",
        param: null,
        code: null,
      },
    });
    return;
  }
  const verdict = await options.onEnd({
    contents: contents.map((c) => c ?? ""),
    finishReasons: contents.map((_, i) => finish[i] ?? null),
    usage,
    head: { id: head?.id, created: head?.created, model: head?.model },
  });
  if (options.buffer) {
    const base = { id: head?.id, object: "chat.completion.chunk", created: head?.created, model: head?.model };
    for (let i = 0; i < contents.length; i++) {
      const v = verdict.choices[i];
      const blocked = v?.decision === "block";
      const text = blocked ? "" : v?.decision === "redact" ? v.redacted : (contents[i] ?? "");
      yield event({
        ...base,
        choices: [{ index: i, delta: { role: "assistant", content: text }, finish_reason: null }],
      });
      yield event({
        ...base,
        choices: [{ index: i, delta: {}, finish_reason: blocked ? "content_filter" : (finish[i] ?? "stop") }],
      });
    }
    if (options.includeUsage) yield event({ ...base, choices: [], usage });
  }
  yield event("[DONE]");
}
