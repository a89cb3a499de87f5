/**
 * What a gateway call said, on its trace span, in OpenTelemetry's GenAI content attributes:
 * `gen_ai.input.messages` (the messages sent upstream, after input guardrails) and
 * `gen_ai.output.messages` (the choices as the client got them, after output guardrails), each a
 * JSON array of `{ role, parts: [{ type: "text", content }], finish_reason? }`, and
 * `gen_ai.response.finish_reasons`. Monitoring reads them back (refusals, the judge, review).
 * Also: a cached completion replayed as a stream.
 */
import { GENAI } from "../traces/genai.js";
import { contentText, type ChatMessageWire } from "./openai-wire.js";

/** Longest text kept per message part on a span; the rest is cut (a trace is not an archive). */
export const MAX_CONTENT_CHARS = 16_000;

const cut = (s: string) => (s.length > MAX_CONTENT_CHARS ? s.slice(0, MAX_CONTENT_CHARS) : s);

export interface OutputChoice {
  readonly content: string;
  readonly finishReason: string | null;
  /** OpenAI's `message.refusal` (structured outputs), when the model refused through it. */
  readonly refusal?: string;
}

export function recordInput(attributes: Record<string, unknown>, messages: readonly ChatMessageWire[]): void {
  attributes[GENAI.inputMessages] = JSON.stringify(
    messages.map((m) => ({ role: m.role, parts: [{ type: "text", content: cut(contentText(m.content)) }] })),
  );
}

export function recordOutput(attributes: Record<string, unknown>, choices: readonly OutputChoice[]): void {
  attributes[GENAI.outputMessages] = JSON.stringify(
    choices.map((c) => ({
      role: "assistant",
      parts: [
        { type: "text", content: cut(c.content) },
        ...(c.refusal === undefined ? [] : [{ type: "refusal", content: cut(c.refusal) }]),
      ],
      finish_reason: c.finishReason,
    })),
  );
  attributes[GENAI.finishReasons] = choices.map((c) => c.finishReason ?? "");
}

/** The output choices of a (non-streamed) chat completion body. */
export function completionChoices(json: Readonly<Record<string, unknown>>): OutputChoice[] {
  const choices = Array.isArray(json.choices) ? (json.choices as Record<string, unknown>[]) : [];
  return choices.map((c) => {
    const m = (c.message ?? {}) as Partial<ChatMessageWire> & { refusal?: unknown };
    return {
      content: m.content === undefined ? "" : contentText(m.content),
      finishReason: typeof c.finish_reason === "string" ? c.finish_reason : null,
      ...(typeof m.refusal === "string" ? { refusal: m.refusal } : {}),
    };
  });
}

const event = (data: unknown) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

/** A cached completion as OpenAI's stream: per choice one content chunk and one finish chunk, then usage if asked, `[DONE]`. */
export async function* replayAsStream(
  json: Readonly<Record<string, unknown>>,
  includeUsage: boolean,
): AsyncGenerator<string> {
  const base = { id: json.id, object: "chat.completion.chunk", created: json.created, model: json.model };
  const choices = completionChoices(json);
  for (const [index, c] of choices.entries()) {
    yield event({
      ...base,
      choices: [{ index, delta: { role: "assistant", content: c.content }, finish_reason: null }],
    });
    yield event({ ...base, choices: [{ index, delta: {}, finish_reason: c.finishReason ?? "stop" }] });
  }
  if (includeUsage) yield event({ ...base, choices: [], usage: json.usage });
  await Promise.resolve();
  yield event("[DONE]");
}

/** A streamed choice as the client got it: the redacted text, or nothing with `content_filter` when blocked. */
export function deliveredChoice(
  content: string,
  finishReason: string | null,
  verdict: { readonly decision: string; readonly redactedText: string } | undefined,
  applied: boolean,
): OutputChoice {
  if (!applied || verdict === undefined || verdict.decision === "allow" || verdict.decision === "flag")
    return { content, finishReason };
  if (verdict.decision === "block") return { content: "", finishReason: "content_filter" };
  return { content: verdict.redactedText, finishReason };
}

/** A finished stream as the chat completion a non-streamed call would have answered (for the cache). */
export function streamedCompletion(
  outcome: { readonly usage: Readonly<Record<string, unknown>>; readonly head: Readonly<Record<string, unknown>> },
  choices: readonly OutputChoice[],
): Record<string, unknown> {
  return {
    ...outcome.head,
    object: "chat.completion",
    choices: choices.map((c, index) => ({
      index,
      message: { role: "assistant", content: c.content },
      finish_reason: c.finishReason ?? "stop",
    })),
    usage: outcome.usage,
  };
}
