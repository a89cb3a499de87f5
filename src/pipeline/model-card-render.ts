/**
 * A model card as Markdown or as one self-contained HTML page (inline CSS, no scripts, no external
 * assets). Every text that came from a person or from data (descriptions, limitations, reasons,
 * feature names, categories) is escaped, in both formats.
 */
import type { ModelCard } from "./model-card.js";

export const CARD_FORMATS = ["md", "html", "json"] as const;
export type CardFormat = (typeof CARD_FORMATS)[number];

interface Section {
  readonly id: string;
  readonly title: string;
  /** Paragraphs of plain text. */
  readonly text?: readonly string[];
  readonly table?: { readonly head: readonly string[]; readonly rows: readonly (readonly string[])[] };
}

function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (Number.isInteger(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(3);
  return v.toFixed(digits);
}

const iso = (t: number | null): string => (t === null ? "—" : new Date(t).toISOString());
const pass = (passed: boolean, skipped = false): string => (skipped ? "skipped" : passed ? "passed" : "FAILED");

function modelSection(card: ModelCard): Section {
  const m = card.model;
  return {
    id: "model",
    title: "Model",
    table: {
      head: ["field", "value"],
      rows: [
        ["name", m.name],
        ["version", m.version],
        ["description", m.description],
        ["algorithm", m.algorithm ?? "—"],
        [
          "hyper-parameters",
          Object.entries(m.hyperparameters)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ") || "—",
        ],
        ["registered", `${iso(m.createdAt)} by ${m.createdBy}`],
        ["artifact sha256", m.artifactSha256 ?? "—"],
        ["source", m.source],
        ["training run", m.runId ?? "—"],
        ["aliases", m.aliases.join(", ") || "—"],
        ["stage", m.stage],
      ],
    },
  };
}

function trainingDataSection(card: ModelCard): Section {
  const d = card.trainingData;
  return {
    id: "training-data",
    title: "Training data",
    table: {
      head: ["field", "value"],
      rows: [
        ["file", d.path ?? "—"],
        ["sha256", d.sha256 ?? "—"],
        ["rows", num(d.rows)],
        ["target", d.target ?? "—"],
        ["split", d.split ?? "—"],
        ["training / validation rows", `${num(d.trainRows)} / ${num(d.validRows)}`],
        ["window", d.timeCutoff === null ? "random split: no time window" : `validation from ${iso(d.timeCutoff)}`],
        ["split sha256", d.splitSha256 ?? "—"],
        ["pipeline config sha256", d.configSha256 ?? "—"],
        ["code version", d.codeVersion ?? "—"],
        ["data expectations (failed)", `${num(d.expectations)} (${num(d.failedExpectations)})`],
      ],
    },
  };
}

function sections(card: ModelCard): Section[] {
  const imp = card.importance;
  return [
    {
      id: "intended-use",
      title: "Intended use",
      text: [card.intendedUse ?? "Not stated (set it with `keel models card … --set intended_use=TEXT`)."],
    },
    {
      id: "limitations",
      title: "Known limitations",
      text: [card.limitations ?? "Not stated (set them with `keel models card … --set limitations=TEXT`)."],
    },
    modelSection(card),
    trainingDataSection(card),
    {
      id: "features",
      title: "Features (input signature)",
      table: {
        head: ["name", "type", "nullable", "range / categories"],
        rows: card.features.map((f) => [
          f.name,
          f.type,
          f.nullable ? "yes" : "no",
          f.range !== undefined
            ? `[${num(f.range.min)}, ${num(f.range.max)}]`
            : f.categories !== undefined
              ? f.categories.join(", ")
              : "—",
        ]),
      },
    },
    {
      id: "metrics",
      title: "Metrics (validation rows)",
      text: [`Decision threshold: ${num(card.threshold)}.`],
      table: { head: ["metric", "value"], rows: Object.entries(card.metrics).map(([k, v]) => [k, num(v)]) },
    },
    {
      id: "gates",
      title: "Gates",
      table: {
        head: ["gate", "observed", "threshold", "result", "message"],
        rows: card.gates.map((g) => [
          g.gate,
          num(g.observed),
          `${g.comparator} ${num(g.threshold)}`,
          pass(g.passed, g.skipped),
          g.message,
        ]),
      },
    },
    {
      id: "fairness",
      title: "Fairness by segment",
      text: card.fairness.map(
        (f) => `${f.gate}: positive-decision rate gap ${num(f.gap)} (at most ${num(f.maxGap)}): ${pass(f.passed)}.`,
      ),
      table: {
        head: ["gate", "segment", "rows", "positive-decision rate", "compared"],
        rows: card.fairness.flatMap((f) =>
          f.segments.map((s) => [f.gate, s.value, num(s.rows), num(s.rate), s.compared ? "yes" : "no (too few rows)"]),
        ),
      },
    },
    {
      id: "behaviour",
      title: "Behaviour tests",
      table: {
        head: ["test", "feature", "rows checked", "violations", "result", "message"],
        rows: card.behaviourTests.map((b) => [
          b.test,
          b.feature,
          num(b.checked),
          num(b.violations),
          pass(b.passed),
          b.message,
        ]),
      },
    },
    {
      id: "calibration",
      title: "Calibration (validation rows)",
      table: {
        head: ["measure", "value"],
        rows: [
          ["expected calibration error (10 bins)", num(card.calibration.ece)],
          ["Brier score", num(card.calibration.brier)],
          ["log loss", num(card.calibration.logLoss)],
        ],
      },
    },
    {
      id: "importance",
      title: "Global feature importance (mean |SHAP|, margin units)",
      ...("unavailable" in imp
        ? { text: [`Not available: ${imp.unavailable}.`] }
        : {
            text: [
              `Exact TreeSHAP / linear SHAP over ${imp.rows} evenly spaced rows of the training data (sha256 ${imp.dataSha256}); expected margin ${num(imp.bias)}.`,
            ],
            table: {
              head: ["feature", "mean |SHAP|"],
              rows: imp.features.map((f) => [f.feature, num(f.meanAbsShap, 6)]),
            },
          }),
    },
    {
      id: "history",
      title: "Approvals and promotion history",
      table: {
        head: ["time", "who", "action", "what", "reason"],
        rows: card.history.map((h) => [iso(h.time), h.actor, h.action, h.detail, h.reason ?? ""]),
      },
    },
  ];
}

/** Markdown text: `<`, `>` and `&` as entities (Markdown renders raw HTML), `|` and line breaks kept out of cells. */
function mdText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function mdCell(s: string): string {
  return mdText(s).replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export function modelCardMarkdown(card: ModelCard): string {
  const out = [
    `# Model card: ${mdText(card.model.name)} version ${mdText(card.model.version)}`,
    "",
    `Generated by keel at ${iso(card.generatedAt)} from the registry, the training run and the audit log.`,
  ];
  for (const s of sections(card)) {
    out.push("", `## ${s.title}`, "");
    for (const p of s.text ?? []) out.push(mdText(p), "");
    if (s.table !== undefined) {
      if (s.table.rows.length === 0) out.push("(none recorded)", "");
      else {
        out.push(`| ${s.table.head.map(mdCell).join(" | ")} |`, `|${s.table.head.map(() => " --- |").join("")}`);
        for (const r of s.table.rows) out.push(`| ${r.map(mdCell).join(" | ")} |`);
        out.push("");
      }
    }
  }
  return out
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .replace(/\n+$/, "\n");
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#222;line-height:1.4}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.failed{color:#c62828;font-weight:600}p.note{color:#555}`;

export function modelCardHtml(card: ModelCard): string {
  const title = `Model card: ${card.model.name} version ${card.model.version}`;
  const body = sections(card).map((s) => {
    const text = (s.text ?? []).map((p) => `<p>${esc(p)}</p>`).join("");
    let table = "";
    if (s.table !== undefined) {
      table =
        s.table.rows.length === 0
          ? `<p class="note">(none recorded)</p>`
          : `<table><thead><tr>${s.table.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${s.table.rows
              .map(
                (r) =>
                  `<tr>${r.map((c) => `<td${c === "FAILED" ? ' class="failed"' : ""}>${esc(c)}</td>`).join("")}</tr>`,
              )
              .join("")}</tbody></table>`;
    }
    return `<section id="${s.id}"><h2>${esc(s.title)}</h2>${text}${table}</section>`;
  });
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${esc(title)}</h1>`,
    `<p class="note">Generated by keel at ${esc(iso(card.generatedAt))} from the registry, the training run and the audit log.</p>`,
    ...body,
    "</body></html>",
    "",
  ].join("\n");
}

export function renderModelCard(card: ModelCard, format: CardFormat): string {
  if (format === "md") return modelCardMarkdown(card);
  if (format === "html") return modelCardHtml(card);
  return JSON.stringify(card, null, 2) + "\n";
}
