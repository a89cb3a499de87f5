/**
 * An endpoint's serving figures from the server's own /metrics: over the interval between two
 * scrapes (counter and bucket increases), or since the server started (one scrape against none).
 */
import type { Sample } from "./prom.js";
import { bucketIncrease, histogramQuantile, increase } from "./prom.js";

export interface Scrape {
  readonly samples: readonly Sample[];
  /** Epoch ms the scrape was answered. */
  readonly at: number;
}

export interface Figures {
  /** Requests answered. */
  readonly requests: number;
  /** Requests answered per second; null without an interval. */
  readonly rate: number | null;
  /** Latency quantiles in ms from the latency histogram; null without requests. */
  readonly p50: number | null;
  readonly p99: number | null;
  /** Failed requests over answered and failed ones. */
  readonly errorRate: number | null;
  /** Requests answered by the fallback over answered ones. */
  readonly fallbackRate: number | null;
  readonly cacheHitRate: number | null;
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

/** What the counters of `endpoint` grew by from `before` to `now`; `before` null: everything since the start. */
export function endpointFigures(now: Scrape, before: Scrape | null, endpoint: string): Figures {
  const where = { endpoint };
  const was = before?.samples ?? [];
  const grew = (name: string) => increase(now.samples, was, name, where);
  const requests = grew("keel_serving_requests_total");
  const errors = grew("keel_serving_errors_total");
  const hits = grew("keel_serving_cache_hits_total");
  const latency = bucketIncrease(now.samples, was, "keel_serving_request_duration_seconds", where);
  const ms = (q: number) => {
    const v = histogramQuantile(latency, q);
    return v === null ? null : v * 1000;
  };
  return {
    requests,
    rate: before === null || now.at <= before.at ? null : requests / ((now.at - before.at) / 1000),
    p50: ms(0.5),
    p99: ms(0.99),
    errorRate: ratio(errors, requests + errors),
    fallbackRate: ratio(grew("keel_serving_fallbacks_total"), requests),
    cacheHitRate: ratio(hits, hits + grew("keel_serving_cache_misses_total")),
  };
}

/** Figures over each interval between successive scrapes, oldest first, with the time the interval ended. */
export function figureHistory(scrapes: readonly Scrape[], endpoint: string): { at: number; figures: Figures }[] {
  const out: { at: number; figures: Figures }[] = [];
  for (let i = 1; i < scrapes.length; i++) {
    out.push({ at: scrapes[i]!.at, figures: endpointFigures(scrapes[i]!, scrapes[i - 1]!, endpoint) });
  }
  return out;
}
