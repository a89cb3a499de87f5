import { Gauge, type Registry } from "prom-client";
import type { Clock, Logger } from "../runtime/index.js";
import type { ReviewQueueStats } from "../store/index.js";

/** Reviewer–model agreement is measured over the verdicts of this many trailing days. */
export const REVIEW_AGREEMENT_DAYS = 7;
const DAY_MS = 86_400_000;

/**
 * The human review queue's gauges, read from the queue's store when `/metrics` is scraped: open
 * items per endpoint and status, the age of the oldest open item (what an SLA alert watches), and
 * reviewers' agreement with the model over the last days. One store read serves one scrape.
 */
export function watchReviewQueue(
  registry: Registry,
  read: (since: number) => Promise<ReviewQueueStats>,
  clock: Clock,
  logger: Logger,
): void {
  let pending: Promise<ReviewQueueStats | undefined> | undefined;
  const stats = (): Promise<ReviewQueueStats | undefined> => {
    pending ??= read(clock() - REVIEW_AGREEMENT_DAYS * DAY_MS)
      .catch((e: unknown) => {
        // A scrape must not fail because the queue cannot be read: the gauges are left empty.
        logger.error({ err: e }, "review queue: metrics could not be read");
        return undefined;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const registers = [registry];
  new Gauge({
    name: "keel_review_queue_items",
    help: "Open items in the human review queue, by endpoint and status (pending, claimed).",
    labelNames: ["endpoint", "status"],
    registers,
    async collect() {
      this.reset();
      for (const e of (await stats())?.endpoints ?? []) {
        this.set({ endpoint: e.endpoint, status: "pending" }, e.pending);
        this.set({ endpoint: e.endpoint, status: "claimed" }, e.claimed);
      }
    },
  });
  new Gauge({
    name: "keel_review_oldest_open_age_seconds",
    help: "Age of the oldest pending or claimed review item, by endpoint (absent when none is open).",
    labelNames: ["endpoint"],
    registers,
    async collect() {
      this.reset();
      const now = clock();
      for (const e of (await stats())?.endpoints ?? []) {
        if (e.oldestOpenAt !== null) this.set({ endpoint: e.endpoint }, Math.max(0, (now - e.oldestOpenAt) / 1000));
      }
    },
  });
  new Gauge({
    name: "keel_review_verdicts",
    help: `Verdicts given in the last ${REVIEW_AGREEMENT_DAYS} days, by endpoint and whether they agreed with the model or overrode it.`,
    labelNames: ["endpoint", "outcome"],
    registers,
    async collect() {
      this.reset();
      for (const e of (await stats())?.endpoints ?? []) {
        this.set({ endpoint: e.endpoint, outcome: "agreed" }, e.agreed);
        this.set({ endpoint: e.endpoint, outcome: "overridden" }, e.overridden);
      }
    },
  });
  new Gauge({
    name: "keel_review_agreement_ratio",
    help: `Share of the last ${REVIEW_AGREEMENT_DAYS} days' verdicts that agreed with the model's decision, by endpoint.`,
    labelNames: ["endpoint"],
    registers,
    async collect() {
      this.reset();
      for (const e of (await stats())?.endpoints ?? []) {
        const n = e.agreed + e.overridden;
        if (n > 0) this.set({ endpoint: e.endpoint }, e.agreed / n);
      }
    },
  });
}
