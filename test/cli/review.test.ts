import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import type { NewReviewItem } from "../../src/store/index.js";
import type { DecisionJson, DecisionPageJson, ReviewItemJson } from "../../src/wire/index.js";
import { keelInProcess } from "./helpers.js";

const item = (requestId: string, score: number): NewReviewItem => ({
  endpoint: "loans",
  requestId,
  modelName: "loan-default",
  modelVersion: "3",
  route: "champion",
  score,
  modelDecision: score >= 0.5 ? "reject" : "approve",
  interimDecision: "refer",
  positiveDecision: "reject",
  negativeDecision: "approve",
  reasons: ["score_band"],
  inputs: { loan_amount: 62000, purpose: "car" },
});

describe("keel review on the local store", () => {
  let dir: string;
  const run = (...args: string[]) => keelInProcess([...args, "--data-dir", dir]);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-cli-review-"));
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    await stores.migrate();
    await stores.reviews.enqueue([item("a-1", 0.55)], 1000);
    await stores.reviews.enqueue([item("a-2", 0.42)], 2000);
    // the served decisions behind the items, and one never queued
    await stores.inferenceLog.append(
      (
        [
          ["a-1", 0.55],
          ["a-2", 0.42],
          ["a-3", 0.1],
        ] as const
      ).map(([requestId, score], k) => ({
        requestId,
        time: 1000 * (k + 1),
        endpoint: "loans",
        modelName: "loan-default",
        modelVersion: "3",
        route: "champion",
        features: { loan_amount: 62000, purpose: "car" },
        outputs: { score, decision: score >= 0.5 ? "reject" : "approve" },
        latencyMs: 1,
        threshold: 0.5,
      })),
      { durability: "sync" },
    );
    await stores.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lists, claims and decides, and the verdict becomes the request's label", async () => {
    const listed = await run("review", "list", "--status", "pending", "--json");
    expect(listed.code).toBe(0);
    const items = (JSON.parse(listed.stdout) as { items: ReviewItemJson[] }).items;
    expect(items.map((i) => [i.request_id, i.status, i.interim_decision])).toEqual([
      ["a-1", "pending", "refer"],
      ["a-2", "pending", "refer"],
    ]);

    const claimed = await run("review", "claim", "loans", "a-1", "--reviewer", "ana");
    expect(claimed.code).toBe(0);
    expect(claimed.stdout).toContain("claimed loans/a-1: claimed (ana)");
    const other = await run(
      "review",
      "decide",
      "loans",
      "a-1",
      "--decision",
      "approve",
      "--reason",
      "x",
      "--reviewer",
      "ben",
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("review item loans/a-1 is claimed by ana; cannot decide it");
    const bad = await run(
      "review",
      "decide",
      "loans",
      "a-1",
      "--decision",
      "maybe",
      "--reason",
      "x",
      "--reviewer",
      "ana",
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('decision = "maybe": must be one of reject, approve');

    const decided = await run(
      "review",
      "decide",
      "loans",
      "a-1",
      "--decision",
      "approve",
      "--reason",
      "income verified",
      "--reviewer",
      "ana",
    );
    expect(decided.code).toBe(0);
    expect(decided.stdout).toContain("verdict: approve (overrides the model) by ana: income verified");

    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    try {
      expect(await stores.labels.byRequestIds(["a-1", "a-2"])).toMatchObject([
        { requestId: "a-1", label: 0, source: "review" },
      ]);
      const audit = await stores.audit.list({ targetType: "review_item" });
      expect(audit.map((a) => [a.action, a.actor, a.targetId])).toEqual([
        ["review.claim", "ana", "loans/a-1"],
        ["review.decide", "ana", "loans/a-1"],
      ]);
    } finally {
      await stores.close();
    }
    // the decision records show the verdict; the search splits reviewed from the rest
    const shown = await run("decisions", "show", "a-1");
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/review {6}approve by ana at \S+ \(overrides the model\): income verified/);
    const search = async (...flags: string[]) => {
      const r = await run("decisions", "search", ...flags, "--json");
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as DecisionPageJson).decisions.map((d) => [d.request_id, d.review?.status ?? null]);
    };
    expect(await search("--reviewed")).toEqual([["a-1", "decided"]]);
    expect(await search("--not-reviewed")).toEqual([
      ["a-2", "pending"],
      ["a-3", null],
    ]);
    const both = await run("decisions", "search", "--reviewed", "--not-reviewed");
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--not-reviewed = true: cannot be given with --reviewed");
    const out = path.join(dir, "reviewed.jsonl");
    expect((await run("decisions", "export", "--reviewed", "--output", out)).code).toBe(0);
    const exported = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as DecisionJson);
    expect(exported.map((d) => [d.request_id, d.review?.verdict, d.review?.decided_by])).toEqual([
      ["a-1", "approve", "ana"],
    ]);
    const verified = await run("decisions", "verify");
    expect(verified.stdout).toContain("decision records intact: 3 verified");

    const pending = await run("review", "list", "--status", "pending");
    expect(pending.stdout).toContain("a-2");
    expect(pending.stdout).not.toContain("a-1");
  });
});
