import type { Clock } from "../runtime/index.js";
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { WebhookEvent } from "./types.js";

/** A webhook as the dispatcher needs it: where to POST, and the secret to sign with. */
export interface WebhookTarget {
  readonly id: string;
  readonly url: string;
  readonly secret: string;
}

export interface WebhookDelivery {
  readonly webhookId: string;
  readonly deliveryId: string;
  readonly event: WebhookEvent;
  readonly ok: boolean;
  readonly attempts: number;
  readonly status?: number;
  readonly error?: string;
}

export const SIGNATURE_HEADER = "x-keel-signature";
export const TIMESTAMP_HEADER = "x-keel-timestamp";
export const EVENT_HEADER = "x-keel-event";
export const DELIVERY_HEADER = "x-keel-delivery";

/**
 * `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). Signing the timestamp with the
 * body lets a receiver refuse replays of old deliveries.
 */
export function signWebhookPayload(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** Receiver side: constant-time check of a signature header. */
export function verifyWebhookSignature(secret: string, timestamp: number, body: string, signature: string): boolean {
  const expected = Buffer.from(signWebhookPayload(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface WebhookDispatcherOptions {
  /** The fetch to POST with (injected: tests and proxies supply their own). */
  readonly fetch: typeof globalThis.fetch;
  readonly clock?: Clock;
  /** Attempts per delivery (default 3). */
  readonly attempts?: number;
  /** Delay before the 2nd attempt, doubled after each failure (default 500 ms). */
  readonly backoffMs?: number;
  /** Per-attempt timeout (default 5 s). */
  readonly timeoutMs?: number;
  /** Called once per delivery when it finishes, delivered or not. */
  readonly onDelivery?: (d: WebhookDelivery) => void;
}

export interface WebhookDispatcher {
  /** Starts the deliveries and returns at once; they never block or fail the caller. */
  dispatch(targets: readonly WebhookTarget[], event: WebhookEvent, data: Record<string, unknown>): void;
  /** Resolves when every delivery started so far has finished. */
  idle(): Promise<void>;
}

/** Best-effort delivery: retries on network errors and 5xx / 429 with exponential backoff. */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const clock = options.clock ?? Date.now;
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 5000;
  const pending = new Set<Promise<void>>();

  async function deliver(
    target: WebhookTarget,
    event: WebhookEvent,
    data: Record<string, unknown>,
  ): Promise<WebhookDelivery> {
    const deliveryId = randomUUID();
    const timestamp = clock();
    const body = JSON.stringify({ event, webhook_id: target.id, delivery_id: deliveryId, timestamp, data });
    const headers = {
      "content-type": "application/json",
      [SIGNATURE_HEADER]: signWebhookPayload(target.secret, timestamp, body),
      [TIMESTAMP_HEADER]: String(timestamp),
      [EVENT_HEADER]: event,
      [DELIVERY_HEADER]: deliveryId,
    };
    let last: { status?: number; error?: string } = {};
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await options.fetch(target.url, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return { webhookId: target.id, deliveryId, event, ok: true, attempts: attempt, status: res.status };
        last = { status: res.status, error: `HTTP ${res.status}` };
        // A 4xx other than 429 will not get better by retrying.
        if (res.status < 500 && res.status !== 429)
          return { webhookId: target.id, deliveryId, event, ok: false, attempts: attempt, ...last };
      } catch (e) {
        last = { error: e instanceof Error ? e.message : String(e) };
      }
      if (attempt < attempts) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
    }
    return { webhookId: target.id, deliveryId, event, ok: false, attempts, ...last };
  }

  return {
    dispatch(targets, event, data) {
      for (const t of targets) {
        const p = deliver(t, event, data)
          .then((d) => options.onDelivery?.(d))
          .catch(() => undefined)
          .finally(() => pending.delete(p));
        pending.add(p);
      }
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
