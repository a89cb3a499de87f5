/**
 * The refusal detector: an answer is a refusal when the model (or a guardrail) declined instead of
 * answering. Three signals, any one suffices:
 * - a choice finished with `content_filter` (the provider's filter, or keel's output guardrail blocking);
 * - OpenAI's `refusal` field was set (structured outputs);
 * - the text opens a sentence with one of the common refusal phrases (`REFUSAL_PHRASES`), matched
 *   ignoring case, with straight or curly apostrophes.
 * Phrase lists miss paraphrases and can catch an answer that quotes a refusal; the judge is the
 * finer instrument, this one is cheap and runs on every trace.
 */

export const REFUSAL_PHRASES: readonly string[] = [
  "I can't help with",
  "I cannot help with",
  "I can't assist with",
  "I cannot assist with",
  "I can't provide",
  "I cannot provide",
  "I can't do that",
  "I cannot do that",
  "I'm not able to help",
  "I am not able to help",
  "I'm unable to",
  "I am unable to",
  "I won't be able to",
  "I'm sorry, but I can't",
  "I'm sorry, but I cannot",
  "I am sorry, but I cannot",
  "Sorry, but I can't",
  "Sorry, I can't",
  "I must decline",
  "I have to decline",
  "I can't comply",
  "I cannot comply",
  "As an AI language model, I cannot",
  "As an AI, I cannot",
];

export interface AnswerChoice {
  readonly content: string;
  readonly finishReason: string | null;
  readonly refusal?: string;
}

const normalise = (s: string) => s.replace(/[\u2018\u2019]/g, "'").toLowerCase();
const PHRASES = REFUSAL_PHRASES.map(normalise);

/** True when the text starts, or has a sentence starting, with a refusal phrase. */
export function hasRefusalPhrase(text: string): boolean {
  const t = normalise(text);
  for (const sentence of t.split(/(?<=[.!?\n])\s+/)) {
    const s = sentence.trimStart();
    if (PHRASES.some((p) => s.startsWith(p))) return true;
  }
  return false;
}

/** Whether any choice of an answer is a refusal (see the module comment). */
export function isRefusal(choices: readonly AnswerChoice[]): boolean {
  return choices.some(
    (c) =>
      c.finishReason === "content_filter" ||
      (c.refusal !== undefined && c.refusal !== "") ||
      hasRefusalPhrase(c.content),
  );
}
