/**
 * Blocked topics and keywords: configured terms matched case-insensitively on word boundaries
 * (letters, digits and `_` of any script count as word characters), with any run of white space
 * inside a term matching any other.
 */
import type { Span } from "./pii.js";

export interface BlockedTermSpan extends Span<"blocked_term"> {
  /** The configured term that matched. */
  readonly term: string;
}

export type BlockedTermsMatcher = (text: string) => BlockedTermSpan[];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Compiles `terms` once into one pattern; the matcher reports each occurrence with the term it matched. */
export function blockedTermsMatcher(terms: readonly string[]): BlockedTermsMatcher {
  const normalized = terms.map((t) => t.trim().replace(/\s+/g, " ").toLowerCase());
  // Longest first, so "credit card fraud" wins over "credit card" at the same place.
  const alternatives = [...new Set(normalized)]
    .sort((a, b) => b.length - a.length)
    .map((t) => escapeRegExp(t).replace(/ /g, String.raw`\s+`));
  const pattern = new RegExp(String.raw`(?<![\p{L}\p{N}_])(?:${alternatives.join("|")})(?![\p{L}\p{N}_])`, "giu");
  const termOf = new Map(normalized.map((n, i) => [n, terms[i] as string]));
  return (text) =>
    terms.length === 0
      ? []
      : Array.from(text.matchAll(pattern), (m) => ({
          start: m.index,
          end: m.index + m[0].length,
          type: "blocked_term" as const,
          term: termOf.get(m[0].replace(/\s+/g, " ").toLowerCase()) ?? m[0],
        }));
}

/** The occurrences of `terms` in `text`; compile once with `blockedTermsMatcher` when checking many texts. */
export function detectBlockedTerms(text: string, terms: readonly string[]): BlockedTermSpan[] {
  return blockedTermsMatcher(terms)(text);
}
