/**
 * Prompt-injection patterns: phrases that try to replace the instructions an application gave its
 * model. Matching ignores case and treats any run of white space as one space. The list is
 * documented in docs/guardrails.md; a pattern's id is what a triggered check reports.
 */
import type { Span } from "./pii.js";

/** A pattern as source and flags; each matcher compiles its own copy, so no shared RegExp carries state. */
export interface InjectionPattern {
  readonly id: string;
  readonly description: string;
  readonly source: string;
  readonly flags: string;
}

/** Writes a phrase as a pattern: spaces match any white space, and the phrase starts and ends on word boundaries. */
function phrase(source: string): Pick<InjectionPattern, "source" | "flags"> {
  return { source: String.raw`\b(?:${source.replace(/ /g, String.raw`\s+`)})\b`, flags: "gi" };
}

const EARLIER =
  "(?:all |any |the |your |my )?(?:previous|prior|above|earlier|preceding|foregoing|former|original|initial)";
const RULES = "(?:instructions?|prompts?|directions?|directives?|rules|guidelines|messages|context|commands?)";

export const INJECTION_PATTERNS: readonly InjectionPattern[] = [
  {
    id: "ignore_instructions",
    description: "tells the model to ignore, forget or override the instructions it was given",
    ...phrase(`(?:ignore|disregard|forget|skip|override|bypass|neglect) ${EARLIER} ${RULES}`),
  },
  {
    id: "new_instructions",
    description: "announces replacement instructions",
    ...phrase(`(?:your|the) new (?:instructions|rules|task) (?:are|is)|new system prompt`),
  },
  {
    id: "role_override",
    description: "assigns the model a new identity or an unrestricted mode",
    ...phrase(
      [
        "you are now (?:a|an|the|in|my|no longer)",
        "from now on,? you (?:are|will|must)",
        "pretend (?:to be|you are|that you are)",
        "act as (?:an? )?(?:unfiltered|unrestricted|uncensored|jailbroken)",
        "(?:enter|enable|activate) (?:developer|god|jailbreak|DAN) mode",
        "do anything now",
      ].join("|"),
    ),
  },
  {
    id: "system_prompt_exfiltration",
    description: "asks the model to reveal its system prompt or hidden instructions",
    ...phrase(
      [
        "(?:reveal|show|print|repeat|output|display|leak|dump|tell me|what (?:is|are|was|were)) (?:me )?(?:your|the) (?:system|initial|original|hidden|secret) (?:prompt|instructions|message)s?",
        "repeat (?:the|all|everything) (?:text |words )?(?:above|before this)",
      ].join("|"),
    ),
  },
  {
    id: "safety_bypass",
    description: "asks the model to drop its safety rules or content filters",
    ...phrase(
      "(?:bypass|disable|turn off|ignore) (?:your |the |all |any )?(?:safety|content|ethical) (?:filters?|guidelines|policies|rules|restrictions)|without any (?:restrictions|filters|censorship)",
    ),
  },
  {
    id: "role_delimiter",
    description: "forges a chat-template role marker (`<|im_start|>`, `[INST]`, a `system:` line)",
    source: String.raw`<\|im_start\|>|<\|im_end\|>|\[\/?INST\]|<<\/?SYS>>|^[ \t]*(?:system|assistant)[ \t]*:|^#{2,}[ \t]*system\b`,
    flags: "gim",
  },
];

export interface InjectionSpan extends Span<"prompt_injection"> {
  /** The id of the pattern that matched. */
  readonly pattern: string;
}

export type PromptInjectionMatcher = (text: string) => InjectionSpan[];

/** Compiles the patterns with the given ids (default all) once; the matcher reports every match, sorted by start. */
export function promptInjectionMatcher(ids?: readonly string[]): PromptInjectionMatcher {
  const compiled = INJECTION_PATTERNS.filter((p) => ids === undefined || ids.includes(p.id)).map(
    (p) => [p.id, new RegExp(p.source, p.flags)] as const,
  );
  return (text) => {
    const spans: InjectionSpan[] = [];
    for (const [id, re] of compiled) {
      for (const m of text.matchAll(re)) {
        spans.push({ start: m.index, end: m.index + m[0].length, type: "prompt_injection", pattern: id });
      }
    }
    return spans.sort((a, b) => a.start - b.start);
  };
}

/** The prompt-injection matches in `text`; compile once with `promptInjectionMatcher` when checking many texts. */
export function detectPromptInjection(text: string, ids?: readonly string[]): InjectionSpan[] {
  return promptInjectionMatcher(ids)(text);
}
