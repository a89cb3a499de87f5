import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { InvalidParameterError } from "../../../src/errors.js";
import { INJECTION_PATTERNS, parseGuardrailSet, PII_TYPES } from "../../../src/llm/index.js";
import { thrown } from "../../keel-error.js";

const message = (json: unknown) => thrown(() => parseGuardrailSet(json), InvalidParameterError).message;

describe("parseGuardrailSet", () => {
  it("reads a YAML set and fills the defaults", () => {
    const yaml = readFileSync(new URL("../../fixtures/llm/support-bot-guardrails.yaml", import.meta.url), "utf8");
    const set = parseGuardrailSet(parse(yaml));
    expect(set.name).toBe("support-bot");
    expect(set.checks.map((c) => [c.name, c.kind, c.action])).toEqual([
      ["prompt_injection", "prompt_injection", "block"],
      ["off-topic", "blocked_terms", "flag"],
      ["pii", "pii", "redact"],
      ["toxicity", "classifier", "block"],
      ["ticket-shape", "json_schema", "flag"],
    ]);
    const [injection] = set.checks;
    expect(injection?.kind === "prompt_injection" && injection.patterns).toEqual(INJECTION_PATTERNS.map((p) => p.id));
    expect(parseGuardrailSet({ checks: [{ kind: "pii", action: "flag" }] }).checks[0]).toEqual({
      kind: "pii",
      name: "pii",
      action: "flag",
      types: PII_TYPES,
    });
  });

  it("names the field, the value and the rule of what it refuses", () => {
    expect(message([])).toBe("guardrails = []: must be an object");
    expect(message({})).toBe("guardrails.checks = undefined: is required");
    expect(message({ checks: [] })).toBe("guardrails.checks = []: must be a non-empty array");
    expect(message({ checks: [{ kind: "pii", action: "flag" }], extra: 1 })).toBe(
      "guardrails.extra = 1: unknown field; allowed: name, checks",
    );
    expect(message({ checks: [{ kind: "toxic", action: "flag" }] })).toBe(
      'guardrails.checks[0].kind = "toxic": must be one of pii, prompt_injection, blocked_terms, json_schema, classifier',
    );
    expect(message({ checks: [{ kind: "pii", action: "drop" }] })).toBe(
      'guardrails.checks[0].action = "drop": must be one of block, redact, flag',
    );
    expect(message({ checks: [{ kind: "pii", action: "flag", type: ["email"] }] })).toBe(
      'guardrails.checks[0].type = ["email"]: unknown field; allowed: kind, name, action, types',
    );
    expect(message({ checks: [{ kind: "pii", action: "flag", types: ["email", "passport"] }] })).toBe(
      `guardrails.checks[0].types[1] = "passport": must be one of ${PII_TYPES.join(", ")}`,
    );
    expect(message({ checks: [{ kind: "prompt_injection", action: "flag", patterns: ["jailbreak"] }] })).toMatch(
      /^guardrails\.checks\[0\]\.patterns\[0\] = "jailbreak": must be one of ignore_instructions, /,
    );
    expect(message({ checks: [{ kind: "blocked_terms", action: "block" }] })).toBe(
      "guardrails.checks[0].terms = undefined: is required",
    );
    expect(message({ checks: [{ kind: "blocked_terms", action: "block", terms: ["ok", " "] }] })).toBe(
      'guardrails.checks[0].terms[1] = " ": must be a non-empty string',
    );
    expect(message({ checks: [{ kind: "json_schema", action: "redact", schema: {} }] })).toBe(
      'guardrails.checks[0].action = "redact": must be one of block, flag (a json_schema check finds no spans to redact)',
    );
    expect(
      message({ checks: [{ kind: "json_schema", action: "block", schema: { type: "object", propertys: {} } }] }),
    ).toBe(
      'guardrails.checks[0].schema = {"type":"object","propertys":{}}: must be a valid JSON schema (strict mode: unknown keyword: "propertys")',
    );
    expect(
      message({ checks: [{ kind: "classifier", action: "flag", classifier: "toxicity", threshold: "high" }] }),
    ).toBe('guardrails.checks[0].threshold = "high": must be a finite number');
    expect(
      message({
        checks: [
          { kind: "pii", action: "flag" },
          { kind: "pii", action: "redact" },
        ],
      }),
    ).toBe('guardrails.checks[1].name = "pii": must be unique in the set');
  });

  it("carries field, value and rule as details", () => {
    const e = thrown(() => parseGuardrailSet({ checks: [{ kind: "pii", action: "drop" }] }), InvalidParameterError);
    expect(e.details).toEqual({
      field: "guardrails.checks[0].action",
      value: "drop",
      rule: "must be one of block, redact, flag",
    });
  });
});
