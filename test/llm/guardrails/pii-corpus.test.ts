import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { piiScores } from "../../fixtures/llm/pii-scores.js";
import {
  CORPUS_FILE,
  corpusJsonl,
  generatePiiCorpus,
  type LabelledSentence,
} from "../../fixtures/llm/generate-pii-corpus.js";

const text = readFileSync(CORPUS_FILE, "utf8");
const corpus = text
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as LabelledSentence);

describe("PII corpus", () => {
  it("is what its generator writes", () => {
    expect(corpusJsonl(generatePiiCorpus())).toBe(text);
  });

  it("precision and recall per type (exact span match) are at least 0.98", () => {
    const rows = piiScores(corpus);
    console.log(`PII corpus: ${corpus.length} sentences`);
    console.table(rows.map((r) => ({ ...r, precision: r.precision.toFixed(4), recall: r.recall.toFixed(4) })));
    for (const r of rows) {
      expect(r.labelled, r.type).toBeGreaterThan(100);
      expect(r.precision, `${r.type} precision`).toBeGreaterThanOrEqual(0.98);
      expect(r.recall, `${r.type} recall`).toBeGreaterThanOrEqual(0.98);
    }
  });

  it("holds near-misses of every kind and sentences without PII", () => {
    const clean = corpus.filter((s) => s.spans.length === 0).map((s) => s.text);
    expect(clean.length).toBeGreaterThan(500);
    const kinds = [
      /\b256\./,
      /\b(?:000|666|9\d\d)-\d\d-\d{4}\b/,
      /\bversion \d/,
      /\$\d/,
      /order #\d/,
      /\d{4}-\d\d-\d\d/,
    ];
    for (const kind of kinds)
      expect(
        clean.some((t) => kind.test(t)),
        String(kind),
      ).toBe(true);
  });
});
