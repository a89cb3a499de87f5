/**
 * Line diff between two prompt versions: what a reviewer reads before approving a promotion.
 * Templates are short, so the plain longest-common-subsequence table is enough.
 */
import type { PromptTemplate } from "./template.js";

export type DiffOp = " " | "-" | "+";

export interface DiffLine {
  readonly op: DiffOp;
  readonly text: string;
}

export interface DiffableVersion {
  readonly template: PromptTemplate;
  readonly model?: string | undefined;
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** A version as lines: the pinned model and parameters first, then the template (chat messages under `[role]`). */
export function versionLines(v: DiffableVersion): string[] {
  const lines: string[] = [];
  if (v.model !== undefined) lines.push(`model: ${v.model}`);
  for (const key of Object.keys(v.parameters).sort()) lines.push(`${key}: ${JSON.stringify(v.parameters[key])}`);
  lines.push("---");
  if (typeof v.template === "string") lines.push(...v.template.split("\n"));
  else for (const m of v.template) lines.push(`[${m.role}]`, ...m.content.split("\n"));
  return lines;
}

/** Lines of `a` removed (`-`), of `b` added (`+`) and common to both (` `), in order. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  // lcs[i * (m + 1) + j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        a[i] === b[j]
          ? (lcs[(i + 1) * (m + 1) + j + 1] as number) + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j] as number, lcs[i * (m + 1) + j + 1] as number);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: " ", text: a[i] as string });
      i++;
      j++;
    } else if ((lcs[(i + 1) * (m + 1) + j] as number) >= (lcs[i * (m + 1) + j + 1] as number)) {
      out.push({ op: "-", text: a[i++] as string });
    } else {
      out.push({ op: "+", text: b[j++] as string });
    }
  }
  while (i < n) out.push({ op: "-", text: a[i++] as string });
  while (j < m) out.push({ op: "+", text: b[j++] as string });
  return out;
}
