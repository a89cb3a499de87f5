/**
 * A gateway route's monitoring settings (`routes.<name>.monitor` in the LLM config): the windows
 * its traces are summarised over, the judge that scores a sample of them, and the share sent to
 * the human review queue.
 */
import {
  CADENCE_RULE,
  cadenceMs,
  specArray,
  specError,
  specNumber,
  specObject,
  specRequired,
  specString,
} from "../../spec-fields.js";

export interface LlmJudgeSettings {
  /** The gateway route the judge's calls go through (traced and costed like any call). */
  readonly route: string;
  /** The rubric prompt: name and alias or version, resolved at each window. */
  readonly rubric: { readonly name: string; readonly ref: string };
  /** Share of the route's traces judged, 0–1 (default 0.1), chosen by a hash of the trace id. */
  readonly sampleRate: number;
  /** The rubric's score range (default 0–1). */
  readonly minScore: number;
  readonly maxScore: number;
  /** A judged trace scoring below this is a hallucination (default: the middle of the range). */
  readonly hallucinationBelow: number;
  /** At most this many judge calls per window (default 200): the judge costs tokens. */
  readonly maxPerWindow: number;
}

export interface LlmReviewSettings {
  /** Share of the route's traces queued for review, 0–1 (default 0), chosen by a hash of the trace id. */
  readonly sampleRate: number;
  /** Every judged trace scoring below this is queued too (default: none). */
  readonly belowScore?: number;
  /** At most this many items queued per window (default 100). */
  readonly maxPerWindow: number;
}

export interface LlmRouteMonitor {
  readonly route: string;
  /** Monitor windows (`hourly`, `daily`, `15m` …; default hourly and daily). */
  readonly windows: readonly string[];
  readonly judge?: LlmJudgeSettings;
  readonly review?: LlmReviewSettings;
}

function promptRef(o: Readonly<Record<string, unknown>>, key: string, path: string): { name: string; ref: string } {
  const v = specRequired(specString(o, key, path), `${path}.${key}`);
  const at = v.lastIndexOf("@");
  if (at <= 0 || at === v.length - 1) throw specError(`${path}.${key}`, v, "must be NAME@ALIAS or NAME@VERSION");
  return { name: v.slice(0, at), ref: v.slice(at + 1) };
}

function judgeSettings(json: unknown, path: string): LlmJudgeSettings {
  const o = specObject(json, path, [
    "route",
    "rubric",
    "sampleRate",
    "minScore",
    "maxScore",
    "hallucinationBelow",
    "maxPerWindow",
  ]);
  const minScore = specNumber(o, "minScore", path, {}) ?? 0;
  const maxScore = specNumber(o, "maxScore", path, {}) ?? 1;
  if (!(minScore < maxScore)) throw specError(`${path}.maxScore`, maxScore, `must be above minScore (${minScore})`);
  return {
    route: specRequired(specString(o, "route", path), `${path}.route`),
    rubric: promptRef(o, "rubric", path),
    sampleRate: specNumber(o, "sampleRate", path, { min: 0, max: 1 }) ?? 0.1,
    minScore,
    maxScore,
    hallucinationBelow:
      specNumber(o, "hallucinationBelow", path, { min: minScore, max: maxScore }) ?? (minScore + maxScore) / 2,
    maxPerWindow: specNumber(o, "maxPerWindow", path, { integer: true, min: 1 }) ?? 200,
  };
}

function reviewSettings(json: unknown, path: string): LlmReviewSettings {
  const o = specObject(json, path, ["sampleRate", "belowScore", "maxPerWindow"]);
  const below = specNumber(o, "belowScore", path, {});
  return {
    sampleRate: specNumber(o, "sampleRate", path, { min: 0, max: 1 }) ?? 0,
    ...(below === undefined ? {} : { belowScore: below }),
    maxPerWindow: specNumber(o, "maxPerWindow", path, { integer: true, min: 1 }) ?? 100,
  };
}

/** Parses `routes.<route>.monitor`. */
export function parseRouteMonitor(route: string, json: unknown, path: string): LlmRouteMonitor {
  const o = specObject(json, path, ["windows", "judge", "review"]);
  const windows = specArray(o.windows ?? ["hourly", "daily"], `${path}.windows`).map((w, i) => {
    if (typeof w !== "string" || cadenceMs(w) === undefined) throw specError(`${path}.windows[${i}]`, w, CADENCE_RULE);
    return w;
  });
  if (windows.length === 0) throw specError(`${path}.windows`, [], `must be a non-empty list; each ${CADENCE_RULE}`);
  const judge = o.judge === undefined ? undefined : judgeSettings(o.judge, `${path}.judge`);
  const review = o.review === undefined ? undefined : reviewSettings(o.review, `${path}.review`);
  if (review?.belowScore !== undefined && judge === undefined)
    throw specError(`${path}.review.belowScore`, review.belowScore, "needs a judge (monitor.judge)");
  return {
    route,
    windows: [...new Set(windows)],
    ...(judge === undefined ? {} : { judge }),
    ...(review === undefined ? {} : { review }),
  };
}
