/**
 * The monitor job of an LLM gateway route over one window: reads the route's spans, has the judge
 * score a sample of them (a hash of the trace id decides, so a re-run picks the same traces, and a
 * trace judged before is not judged again: the verdict is the trace's feedback from `keel-judge`),
 * queues a share of the traces and every low-scoring one for human review, and writes the window's
 * observations (kind `llm`) to the observation store, replacing a previous run's.
 */
import { createHash } from "node:crypto";
import type { Logger } from "../../runtime/index.js";
import type {
  MonitorObservation,
  NewReviewItem,
  ObservationStore,
  ReviewStore,
  TraceStore,
} from "../../store/index.js";
import type { JudgeExample, JudgeVerdict } from "../eval/index.js";
import type { LlmRouteMonitor } from "./config.js";
import { llmWindowObservations, traceFacts, type Judgment, type TraceFacts } from "./window.js";

/** Judge calls in flight at once. */
const JUDGE_CONCURRENCY = 4;

/** Who the judge's verdicts are stored as, on the trace's feedback. */
export const JUDGE_USER = "keel-judge";
/** The review queue's endpoint for a gateway route's traces. */
export const reviewEndpoint = (route: string) => `llm:${route}`;
/** Review verdicts on an LLM answer: `fail` (label 1) or `pass`. */
export const LLM_REVIEW_DECISIONS = { positive: "fail", negative: "pass" } as const;

export interface LlmMonitorDeps {
  readonly traces: TraceStore;
  readonly observations: ObservationStore;
  readonly reviews: ReviewStore;
  /** Scores one example; present when the route's settings name a judge. */
  readonly judge?: (example: JudgeExample) => Promise<JudgeVerdict>;
  readonly clock?: () => number;
  readonly logger?: Logger;
}

export interface LlmWindowResult {
  readonly route: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly requests: number;
  /** Traces the judge scored in this run (not counting verdicts stored before). */
  readonly judgedNow: number;
  readonly judgeErrors: number;
  readonly queuedForReview: number;
  readonly observations: readonly MonitorObservation[];
}

/** A trace's place in [0, 1) for a sample named `salt`: the same trace, the same place, every run. */
export function samplePoint(salt: string, traceId: string): number {
  return createHash("sha256").update(`${salt}:${traceId}`).digest().readUInt32BE(0) / 2 ** 32;
}

async function windowFacts(traces: TraceStore, route: string, from: number, to: number): Promise<TraceFacts[]> {
  const facts: TraceFacts[] = [];
  let after: string | undefined;
  do {
    const page = await traces.listSpans({ route, from, to, limit: 5000, ...(after === undefined ? {} : { after }) });
    // One request per trace: the gateway writes one span per call; an SDK's child spans repeat the route.
    for (const s of page.spans) if (s.parentSpanId === undefined) facts.push(traceFacts(s));
    after = page.next;
  } while (after !== undefined);
  return facts;
}

async function judgeSample(
  deps: LlmMonitorDeps,
  settings: LlmRouteMonitor,
  facts: readonly TraceFacts[],
): Promise<{ judgments: Map<string, Judgment>; judgedNow: number; errors: number }> {
  const judgments = new Map<string, Judgment>();
  const j = settings.judge;
  if (j === undefined) return { judgments, judgedNow: 0, errors: 0 };
  const review = settings.review;
  const sampled = facts.filter(
    (f) =>
      !f.error &&
      f.choices.length > 0 &&
      (samplePoint("judge", f.traceId) < j.sampleRate ||
        (review !== undefined && samplePoint("review", f.traceId) < review.sampleRate)),
  );
  for (const fb of await deps.traces.feedbackOf(sampled.map((f) => f.traceId))) {
    if (fb.userId === JUDGE_USER) judgments.set(fb.traceId, { score: fb.score, reason: fb.comment ?? "" });
  }
  const todo = sampled.filter((f) => !judgments.has(f.traceId)).slice(0, j.maxPerWindow);
  const judgeFn = deps.judge;
  if (todo.length === 0) return { judgments, judgedNow: 0, errors: 0 };
  if (judgeFn === undefined) throw new Error(`route ${settings.route}: monitor.judge is set but no judge is wired`);
  let judgedNow = 0;
  let errors = 0;
  const one = async (f: TraceFacts): Promise<void> => {
    try {
      const verdict = await judgeFn({
        input: f.input ?? "",
        output: f.choices[0]?.content ?? "",
        context: f.context,
      });
      await deps.traces.addFeedback({
        traceId: f.traceId,
        score: verdict.score,
        comment: verdict.reason,
        userId: JUDGE_USER,
      });
      judgments.set(f.traceId, { score: verdict.score, reason: verdict.reason });
      judgedNow++;
    } catch (e) {
      errors++;
      deps.logger?.warn({ err: e, traceId: f.traceId }, `judging trace ${f.traceId} of route ${settings.route} failed`);
    }
  };
  // A few judge calls at a time: each is a model call, and the route's rate limit still applies.
  for (let i = 0; i < todo.length; i += JUDGE_CONCURRENCY)
    await Promise.all(todo.slice(i, i + JUDGE_CONCURRENCY).map(one));
  return { judgments, judgedNow, errors };
}

function reviewItems(
  settings: LlmRouteMonitor,
  facts: readonly TraceFacts[],
  judgments: ReadonlyMap<string, Judgment>,
): NewReviewItem[] {
  const r = settings.review;
  if (r === undefined) return [];
  const items: NewReviewItem[] = [];
  for (const f of facts) {
    if (items.length >= r.maxPerWindow) break;
    if (f.error || f.choices.length === 0) continue;
    const j = judgments.get(f.traceId);
    const reasons: string[] = [];
    if (samplePoint("review", f.traceId) < r.sampleRate) reasons.push("sample");
    if (j !== undefined && r.belowScore !== undefined && j.score < r.belowScore)
      reasons.push(`judge_score_below: ${r.belowScore}`);
    if (reasons.length === 0) continue;
    const bound = settings.judge?.hallucinationBelow;
    items.push({
      endpoint: reviewEndpoint(settings.route),
      requestId: f.traceId,
      modelName: settings.route,
      modelVersion: f.prompt ?? "",
      route: "llm",
      score: j?.score ?? 0,
      modelDecision:
        j === undefined || bound === undefined
          ? "unjudged"
          : j.score < bound
            ? LLM_REVIEW_DECISIONS.positive
            : LLM_REVIEW_DECISIONS.negative,
      interimDecision: "served",
      positiveDecision: LLM_REVIEW_DECISIONS.positive,
      negativeDecision: LLM_REVIEW_DECISIONS.negative,
      reasons,
      inputs: {
        trace_id: f.traceId,
        prompt: f.prompt ?? null,
        input: f.input ?? null,
        output: f.choices[0]?.content ?? null,
        judge_score: j?.score ?? null,
        judge_reason: j?.reason ?? null,
      },
    });
  }
  return items;
}

/** Runs the route's monitor window [windowStart, windowEnd) (see the module comment). */
export async function runLlmWindow(
  deps: LlmMonitorDeps,
  settings: LlmRouteMonitor,
  window: { readonly windowStart: number; readonly windowEnd: number },
): Promise<LlmWindowResult> {
  const { windowStart, windowEnd } = window;
  const facts = await windowFacts(deps.traces, settings.route, windowStart, windowEnd);
  const { judgments, judgedNow, errors } = await judgeSample(deps, settings, facts);
  const items = reviewItems(settings, facts, judgments);
  if (items.length > 0) await deps.reviews.enqueue(items, (deps.clock ?? Date.now)());
  const observations = llmWindowObservations(facts, {
    route: settings.route,
    windowStart,
    windowEnd,
    judgments,
    ...(settings.judge === undefined ? {} : { hallucinationBelow: settings.judge.hallucinationBelow }),
    judgeErrors: errors,
  });
  await deps.observations.append(observations);
  return {
    route: settings.route,
    windowStart,
    windowEnd,
    requests: facts.length,
    judgedNow,
    judgeErrors: errors,
    queuedForReview: items.length,
    observations,
  };
}
