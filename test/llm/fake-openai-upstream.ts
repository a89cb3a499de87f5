import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small deterministic OpenAI-compatible upstream for the gateway tests (no network): its answer
 * is a fixed function of the request, it counts tokens as whitespace-separated words, and it
 * records every request body it gets. `fail` makes the next N calls answer 503.
 */
export interface FakeUpstream {
  readonly url: string;
  readonly bodies: Record<string, unknown>[];
  failNext(n: number): void;
  close(): Promise<void>;
}

export const words = (s: string) => s.split(/\s+/).filter((w) => w !== "").length;

/** What a grader prompt starts with; such a request is answered as a judge (see `judgeAnswer`). */
export const GRADER_PREFIX = "You are a grader.";

/**
 * A judge's deterministic answer to a grader prompt holding the lines `Answer: …` and
 * `Reference: …`: score 1 when the answer contains the reference (case-insensitively), else 0;
 * a reference containing MALFORMED gets prose instead of JSON.
 */
export function judgeAnswer(prompt: string): string {
  const answer = /^Answer: (.*)$/m.exec(prompt)?.[1] ?? "";
  const reference = /^Reference: (.*)$/m.exec(prompt)?.[1] ?? "";
  if (reference.includes("MALFORMED")) return "I would rate this answer highly.";
  const hit = answer.toLowerCase().includes(reference.toLowerCase());
  return JSON.stringify({
    score: hit ? 1 : 0,
    reason: hit ? "the answer has the reference" : "the reference is missing",
  });
}

/** The model name that makes the upstream act as a monitoring judge (see `answerTo`). */
export const FAKE_JUDGE_MODEL = "fake-judge";

/**
 * The answer to a chat request: a grader prompt gets a judge's verdict (`judgeAnswer`); asked as
 * `FAKE_JUDGE_MODEL`, a groundedness verdict: score 0.1 when the message mentions the moon (the
 * tests' hallucination), else 0.9; a message containing `[refuse]` gets a refusal; anything else
 * gets the last user message repeated with an email address (PII) added.
 */
export function answerTo(messages: readonly { role: string; content: string }[], model?: unknown): string {
  if (messages[0]?.content.startsWith(GRADER_PREFIX) === true)
    return judgeAnswer(messages.map((m) => m.content).join("\n"));
  const last = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
  if (model === FAKE_JUDGE_MODEL) {
    const moon = /moon/i.test(last);
    return JSON.stringify({ score: moon ? 0.1 : 0.9, reason: moon ? "claims a moon office" : "grounded" });
  }
  if (last.includes("[refuse]")) return "I'm sorry, but I can't help with that.";
  return `You asked: ${last} Write to help.desk@example.com for more.`;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of req) text += String(chunk);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const bodies: Record<string, unknown>[] = [];
  let failures = 0;
  const server: Server = createServer((req, res) => {
    void readJson(req).then((body) => {
      bodies.push(body);
      if (failures > 0) {
        failures--;
        res
          .writeHead(503, { "content-type": "application/json" })
          .end('{"error":{"message":"busy","type":"server_error"}}');
        return;
      }
      if (req.url === "/v1/embeddings") {
        const input = String(body.input);
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            object: "list",
            data: [{ object: "embedding", index: 0, embedding: [input.length, words(input)] }],
            model: body.model,
            usage: { prompt_tokens: words(input), total_tokens: words(input) },
          }),
        );
        return;
      }
      const messages = body.messages as { role: string; content: string }[];
      const content = answerTo(messages, body.model);
      const usage = {
        prompt_tokens: messages.reduce((n, m) => n + words(m.content), 0),
        completion_tokens: words(content),
        total_tokens: 0,
      };
      usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
      const base = { id: "chatcmpl-fake", created: 1_700_000_000, model: body.model };
      if (body.stream !== true) {
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            ...base,
            object: "chat.completion",
            choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
            usage,
          }),
        );
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (delta: object, finish: string | null) =>
        `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.write(chunk({ role: "assistant", content: "" }, null));
      for (const piece of content.match(/\S+\s*/g) ?? []) res.write(chunk({ content: piece }, null));
      res.write(chunk({}, "stop"));
      if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true) {
        res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage })}\n\n`);
      }
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    bodies,
    failNext: (n) => {
      failures = n;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
