/**
 * The parts of OpenAI's wire format the gateway reads and writes: the error body every OpenAI
 * client parses (`{ error: { message, type, param, code } }`), and the checks on a chat request.
 */
import { specError } from "../../spec-fields.js";

export interface OpenAiErrorBody {
  readonly error: { message: string; type: string; param: string | null; code: string | null };
}

/** A failure the gateway answers with an OpenAI-shaped error body. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  body(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface ChatMessageWire {
  role: string;
  content: string | null | readonly { type: string; text?: string }[];
  [key: string]: unknown;
}

export interface ChatRequestWire {
  model?: string;
  messages: ChatMessageWire[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  user?: string;
  [key: string]: unknown;
}

/** The text of a message's content (a string, or the text parts of a content array). */
export function contentText(content: ChatMessageWire["content"]): string {
  if (typeof content === "string") return content;
  if (content === null) return "";
  return content.map((p) => (p.type === "text" && typeof p.text === "string" ? p.text : "")).join("");
}

export function checkChatRequest(body: unknown): ChatRequestWire {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw specError("body", body, "must be a JSON object");
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.messages)) throw specError("messages", b.messages, "must be an array of messages");
  b.messages.forEach((m: unknown, i) => {
    if (typeof m !== "object" || m === null) throw specError(`messages[${i}]`, m, "must be an object");
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== "string") throw specError(`messages[${i}].role`, role, "must be a string");
    if (content !== null && content !== undefined && typeof content !== "string" && !Array.isArray(content)) {
      throw specError(`messages[${i}].content`, content, "must be a string or an array of content parts");
    }
  });
  if (b.model !== undefined && typeof b.model !== "string") throw specError("model", b.model, "must be a string");
  if (b.stream !== undefined && typeof b.stream !== "boolean") throw specError("stream", b.stream, "must be a boolean");
  return b as unknown as ChatRequestWire;
}
