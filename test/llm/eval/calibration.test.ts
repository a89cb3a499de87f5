import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  calibrateJudge,
  createDatasetVersion,
  createPromptVersion,
  getPromptVersion,
  type ChatCall,
} from "../../../src/llm/index.js";
import { sqliteStores, type TestStores } from "../../store/backends.js";

/** sklearn's kappas of a judge's 1–5 scores against people's (test/fixtures/llm/make_paired_tests.py). */
const fixture = JSON.parse(readFileSync(new URL("../../fixtures/llm/paired_tests.json", import.meta.url), "utf8")) as {
  kappa: { name: string; a: number[]; b: number[]; kappa: number; agreement: number }[];
};
const scores = fixture.kappa.find((k) => k.name === "scores 1-5")!;
const passFail = fixture.kappa.find((k) => k.name === "pass/fail")!;

/** A judge that gives example i the fixture's judge score, read from the rendered `#i`. */
const scripted =
  (answers: readonly number[], malformed = -1): ChatCall =>
  (body) => {
    const text = (body.messages as { content: string }[]).map((m) => m.content).join("\n");
    const i = Number(/#(\d+)/.exec(text)?.[1]);
    const content = i === malformed ? "five stars" : JSON.stringify({ score: answers[i], reason: `item ${i}` });
    return Promise.resolve({ status: 200, json: { choices: [{ message: { content }, finish_reason: "stop" }] } });
  };

describe("judge calibration against human labels", () => {
  let t: TestStores | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function setUp(): Promise<TestStores> {
    const s = await sqliteStores();
    await createPromptVersion(s.stores.registry, {
      name: "grader",
      template: "Rate 1-5 answer {{output}}",
      commitMessage: "g",
    });
    await createDatasetVersion(s.stores, {
      name: "labels",
      examples: scores.b.map((human, i) => ({ inputs: { output: `#${i}` }, human_label: human })),
    });
    return s;
  }

  it("agrees with sklearn on exact scores and on pass/fail, and records the result on the judge's version", async () => {
    t = await setUp();
    const deps = { registry: t.stores.registry, artifacts: t.stores.artifacts, call: scripted(scores.a) };
    const base = { judge: "grader@1", dataset: { name: "labels", ref: "1" }, minScore: 1, maxScore: 5 };
    const exact = await calibrateJudge(deps, { ...base, minKappa: 0.99 });
    expect(exact.kappa).toBeCloseTo(scores.kappa, 12);
    expect(exact.agreement).toBeCloseTo(scores.agreement, 12);
    expect(exact.passed).toBe(false);
    const binary = await calibrateJudge(deps, { ...base, passThreshold: 3, minKappa: passFail.kappa - 0.01 });
    expect(binary.kappa).toBeCloseTo(passFail.kappa, 12);
    expect(binary.agreement).toBeCloseTo(passFail.agreement, 12);
    expect(binary.passed).toBe(true);
    const tags = Object.fromEntries(
      (await getPromptVersion(t.stores.registry, "grader", "1")).tags.map((x) => [x.key, x.value]),
    );
    expect(tags).toMatchObject({
      "keel.judge.calibration": "passed",
      "keel.judge.kappa": String(binary.kappa),
      "keel.judge.agreement": String(binary.agreement),
      "keel.judge.calibration_dataset": "labels@1",
    });
  });

  it("counts a malformed judge answer as a disagreement, and refuses unlabelled examples and missing bounds", async () => {
    t = await setUp();
    const deps = { registry: t.stores.registry, artifacts: t.stores.artifacts, call: scripted(scores.a, 0) };
    const r = await calibrateJudge(deps, {
      judge: "grader@1",
      dataset: { name: "labels", ref: "1" },
      minScore: 1,
      maxScore: 5,
      minAgreement: 0,
    });
    expect(r.errors).toBe(1);
    expect(r.examples[0]).toMatchObject({ judge: null, error: expect.stringContaining("not JSON") as string });
    const sameButFirst = scores.a.slice(1).filter((x, i) => x === scores.b[i + 1]).length;
    expect(r.agreement).toBeCloseTo(sameButFirst / scores.a.length, 12);

    await expect(calibrateJudge(deps, { judge: "grader@1", dataset: { name: "labels", ref: "1" } })).rejects.toThrow(
      "min_kappa = null: give min_kappa or min_agreement (or both)",
    );
    await createDatasetVersion(t.stores, { name: "unlabelled", examples: [{ inputs: { output: "#1" } }] });
    await expect(
      calibrateJudge(deps, { judge: "grader@1", dataset: { name: "unlabelled", ref: "1" }, minKappa: 0.5 }),
    ).rejects.toThrow("examples[0].human_label = null: every example needs a human label");
  });
});
