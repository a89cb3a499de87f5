import type { Span } from "./pii.js";

/** The placeholder that replaces a span of `type`: `email` → `[EMAIL]`, `blocked_term` → `[BLOCKED_TERM]`. */
export function placeholder(type: string): string {
  return `[${type.toUpperCase()}]`;
}

/**
 * `text` with each span replaced by its typed placeholder. Overlapping spans merge into one
 * replacement carrying the type of the span that starts first (the longer one on a tie), so no
 * fragment of either is left behind.
 */
export function redact(text: string, spans: readonly Span[]): string {
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = "";
  let at = 0;
  for (let i = 0; i < sorted.length;) {
    const first = sorted[i] as Span;
    let end = first.end;
    for (i++; i < sorted.length && (sorted[i] as Span).start < end; i++) end = Math.max(end, (sorted[i] as Span).end);
    out += text.slice(at, first.start) + placeholder(first.type);
    at = end;
  }
  return out + text.slice(at);
}
