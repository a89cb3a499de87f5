/**
 * LLM-as-judge: a rubric prompt from the prompt registry, rendered with an example's input, output
 * and reference (and context, for groundedness), sent through the gateway (so the call is traced,
 * costed and guarded like any other), and its answer read strictly: one JSON object
 * `{"score": <number in the declared range>, "reason": "<text>"}`. A malformed or out-of-range answer
 * is a `JudgeError`, never a silent 0, so a caller records it per example as an evaluation error.
 */
import type { Gateway, GatewayReply } from "../gateway/index.js";
import { renderTemplate, templateVariables, type PromptVersion } from "../prompts/index.js";

/** What the judge sees of one example; the rubric's `{{variables}}` must be among these names. */
export interface JudgeExample {
  readonly input: unknown;
  readonly output: string;
  readonly reference?: unknown;
  readonly context?: unknown;
}

export const JUDGE_VARIABLES = ["input", "output", "reference", "context"] as const;

/** A rubric prompt version and the range its score must fall in (inclusive). */
export interface JudgeRubric {
  readonly prompt: PromptVersion;
  readonly minScore: number;
  readonly maxScore: number;
}

export interface JudgeVerdict {
  readonly score: number;
  readonly reason: string;
  /** The judge call's token counts, when the upstream reported them. */
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** The judge call's trace, when the call went through the gateway. */
  readonly traceId?: string;
}

/** One OpenAI chat-completions call (the body of `/v1/chat/completions`); `gatewayChat` makes one on a gateway route. */
export type ChatCall = (body: Readonly<Record<string, unknown>>) => Promise<GatewayReply>;

/** A judge call that failed or answered something that is not a verdict; `answer` is the judge's raw text, if any. */
export class JudgeError extends Error {
  constructor(
    message: string,
    readonly answer?: string,
  ) {
    super(message);
    this.name = "JudgeError";
  }
}

/** Chat completions on gateway route `route`, as `principal` (the token name, when auth is on). */
export function gatewayChat(gateway: Gateway, route: string, principal?: string): ChatCall {
  return (body) => gateway.chatCompletions({ route, body, ...(principal === undefined ? {} : { principal }) });
}

/** A value as it appears in a rendered rubric: strings as they are, anything else as JSON. */
function variableText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The rubric's messages for `example`; a variable the rubric uses but the example lacks is refused. */
export function renderRubric(rubric: JudgeRubric, example: JudgeExample): { role: string; content: string }[] {
  const values: Record<string, string> = {};
  for (const name of templateVariables(rubric.prompt.template)) {
    if (!(JUDGE_VARIABLES as readonly string[]).includes(name)) {
      throw new JudgeError(
        `judge prompt ${rubric.prompt.name}@${rubric.prompt.version} uses {{${name}}}; a rubric may use: ${JUDGE_VARIABLES.join(", ")}`,
      );
    }
    const value = example[name as keyof JudgeExample];
    if (value === undefined) {
      throw new JudgeError(
        `judge prompt ${rubric.prompt.name}@${rubric.prompt.version} uses {{${name}}} but the example has no ${name}`,
      );
    }
    values[name] = variableText(value);
  }
  const rendered = renderTemplate(rubric.prompt.template, values);
  return typeof rendered === "string" ? [{ role: "user", content: rendered }] : rendered.map((m) => ({ ...m }));
}

/** The verdict in a judge's answer text: exactly one JSON object (a markdown code fence around it is allowed). */
export function parseJudgeAnswer(text: string, range: { minScore: number; maxScore: number }): JudgeVerdict {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text);
  const body = fenced === null ? text : (fenced[1] as string);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new JudgeError(`the judge's answer is not JSON: ${JSON.stringify(text.slice(0, 200))}`, text);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new JudgeError(
      `the judge's answer must be a JSON object {"score", "reason"}, got ${body.slice(0, 200)}`,
      text,
    );
  }
  const { score, reason, ...rest } = json as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) {
    throw new JudgeError(
      `the judge's answer has an unknown field ${JSON.stringify(extra)}; allowed: score, reason`,
      text,
    );
  }
  if (typeof score !== "number" || !Number.isFinite(score)) {
    throw new JudgeError(`the judge's score must be a number, got ${JSON.stringify(score) ?? "nothing"}`, text);
  }
  if (score < range.minScore || score > range.maxScore) {
    throw new JudgeError(
      `the judge's score ${score} is outside its range [${range.minScore}, ${range.maxScore}]`,
      text,
    );
  }
  if (typeof reason !== "string" || reason.trim() === "") {
    throw new JudgeError(
      `the judge's reason must be a non-empty string, got ${JSON.stringify(reason) ?? "nothing"}`,
      text,
    );
  }
  return { score, reason };
}

/** The first choice's text of a non-streamed chat completion reply, or the reply's error as a JudgeError. */
export function completionText(
  reply: GatewayReply,
  what = "the judge call",
): { text: string; inputTokens?: number; outputTokens?: number } {
  if ("sse" in reply) throw new JudgeError(`${what} answered a stream; it must not be streamed`);
  const json = reply.json as Record<string, unknown> | null;
  if (reply.status >= 400) {
    const message = (json?.error as { message?: unknown } | undefined)?.message;
    throw new JudgeError(
      `${what} failed with HTTP ${reply.status}: ${typeof message === "string" ? message : "no message"}`,
    );
  }
  const choice = (Array.isArray(json?.choices) ? json.choices[0] : undefined) as
    { message?: { content?: unknown }; finish_reason?: unknown } | undefined;
  const content = choice?.message?.content;
  if (typeof content !== "string") throw new JudgeError(`${what}'s reply has no message content`);
  if (choice?.finish_reason === "content_filter") throw new JudgeError(`${what}'s answer was blocked by a guardrail`);
  const usage = json?.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  return {
    text: content,
    ...(typeof usage?.prompt_tokens === "number" ? { inputTokens: usage.prompt_tokens } : {}),
    ...(typeof usage?.completion_tokens === "number" ? { outputTokens: usage.completion_tokens } : {}),
  };
}

/**
 * Scores `example` with `rubric` through `call`. The rubric version's pinned model and parameters
 * go in the request (the gateway route's own prompt, if it has one, still goes in front).
 * Throws `JudgeError` when the call fails or the answer is not a verdict in range.
 */
export async function judge(call: ChatCall, rubric: JudgeRubric, example: JudgeExample): Promise<JudgeVerdict> {
  if (!(rubric.minScore < rubric.maxScore)) {
    throw new JudgeError(
      `a judge's score range needs minScore < maxScore, got [${rubric.minScore}, ${rubric.maxScore}]`,
    );
  }
  const body: Record<string, unknown> = { messages: renderRubric(rubric, example), ...rubric.prompt.parameters };
  if (rubric.prompt.model !== undefined) body.model = rubric.prompt.model;
  const reply = await call(body);
  const { text, ...usage } = completionText(reply);
  return {
    ...parseJudgeAnswer(text, rubric),
    ...usage,
    ...(reply.traceId === undefined ? {} : { traceId: reply.traceId }),
  };
}
