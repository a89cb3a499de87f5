import { describe, expect, it } from "vitest";
import { diffLines, versionLines } from "../../../src/llm/prompts/diff.js";
import { checkTemplate, renderTemplate, templateVariables } from "../../../src/llm/prompts/template.js";
import { thrown } from "../../keel-error.js";

describe("prompt templates", () => {
  it("finds variables with MLflow's syntax (spaces inside braces, dotted names), once each", () => {
    expect(templateVariables("Hi {{ name }}, about {{order.id}}: {{name}} {{ 1bad }} {x}")).toEqual([
      "name",
      "order.id",
    ]);
    expect(
      templateVariables([
        { role: "system", content: "You answer about {{product}}." },
        { role: "user", content: "{{question}} ({{product}})" },
      ]),
    ).toEqual(["product", "question"]);
  });

  it("renders text and chat templates", () => {
    expect(renderTemplate("Dear {{ name }}, {{n}} items", { name: "Ana", n: 3 })).toBe("Dear Ana, 3 items");
    expect(renderTemplate([{ role: "user", content: "Q: {{q}}" }], { q: "why?" })).toEqual([
      { role: "user", content: "Q: why?" },
    ]);
  });

  it("refuses a missing or an extra variable, naming it", () => {
    const missing = thrown(() => renderTemplate("{{a}} {{b}}", { a: "1" }));
    expect(missing.code).toBe("INVALID_PARAMETER_VALUE");
    expect(missing.message).toBe("missing prompt variable: b");
    const extra = thrown(() => renderTemplate("{{a}}", { a: "1", c: "2" }));
    expect(extra.message).toContain("unknown prompt variable: c");
  });

  it("refuses malformed templates with field = value: rule", () => {
    expect(thrown(() => checkTemplate([{ role: "boss", content: "x" }])).message).toBe(
      'template[0].role = "boss": must be one of system, user, assistant, developer, tool',
    );
    expect(thrown(() => checkTemplate("")).message).toContain("template");
  });

  it("diffs two versions line by line, model and parameters included", () => {
    const a = versionLines({
      template: "line one\nline two\nline three",
      model: "m-1",
      parameters: { temperature: 0.2 },
    });
    const b = versionLines({
      template: "line one\nline 2\nline three",
      model: "m-1",
      parameters: { temperature: 0.7 },
    });
    const d = diffLines(a, b);
    expect(d.filter((l) => l.op !== " ")).toEqual([
      { op: "-", text: "temperature: 0.2" },
      { op: "+", text: "temperature: 0.7" },
      { op: "-", text: "line two" },
      { op: "+", text: "line 2" },
    ]);
    expect(d.filter((l) => l.op !== "+").map((l) => l.text)).toEqual(a);
    expect(d.filter((l) => l.op !== "-").map((l) => l.text)).toEqual(b);
  });
});
