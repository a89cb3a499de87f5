/**
 * Where alerts go: the log, a generic webhook (the alert as JSON), a Slack-compatible incoming
 * webhook (`text` + Block Kit `blocks`), and PagerDuty's Events API v2 (trigger / acknowledge /
 * resolve under one `dedup_key`). Payload builders are pure; delivery is one HTTP POST with a
 * timeout, retried on network errors, 429 and 5xx.
 */
import type { Logger } from "../runtime/index.js";
import type { AlertJson } from "../wire/index.js";
import { specArray, specError, specNumber } from "../spec-fields.js";
import type { AlertRecord } from "../store/index.js";
import { ALERT_TIERS } from "./alerts.js";
import type { AlertTier } from "./alerts.js";

export type AlertAction = "fired" | "acknowledged" | "resolved";

export interface AlertEvent {
  readonly action: AlertAction;
  readonly alert: AlertRecord;
}

interface SinkCommon {
  /** Only alerts of these tiers (default: every tier). */
  readonly tiers?: readonly AlertTier[];
  /** Per-attempt timeout (default 5,000 ms). */
  readonly timeoutMs?: number;
  /** Further attempts after a failed one (default 2). */
  readonly retries?: number;
}

export type SinkConfig =
  | ({ readonly type: "log" } & SinkCommon)
  | ({
      readonly type: "webhook";
      readonly url: string;
      readonly headers?: Readonly<Record<string, string>>;
    } & SinkCommon)
  | ({ readonly type: "slack"; readonly url: string } & SinkCommon)
  | ({
      readonly type: "pagerduty";
      /** The Events API v2 integration key of the PagerDuty service. */
      readonly routingKey: string;
      /** Default https://events.pagerduty.com/v2/enqueue. */
      readonly url?: string;
      /** `payload.source` (default `keel`). */
      readonly source?: string;
    } & SinkCommon);

export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";
const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_RETRIES = 2;

/** PagerDuty severity per tier. */
export const PAGERDUTY_SEVERITY: Readonly<Record<AlertTier, "critical" | "error" | "warning" | "info">> = {
  page: "critical",
  retrain: "error",
  review: "warning",
  business: "warning",
  notify: "info",
};

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The alert as the generic webhook sends it (and as the API returns it). */
export function alertJson(a: AlertRecord): AlertJson {
  return {
    id: a.id,
    rule_id: a.ruleId,
    // The history holds the tiers the engine fired with, which parseAlertRules checked.
    tier: a.tier as AlertTier,
    status: a.status,
    dedup_key: a.dedupKey,
    model_name: a.modelName,
    model_version: a.modelVersion ?? null,
    endpoint: a.endpoint ?? null,
    feature: a.feature ?? null,
    segment: a.segment ?? null,
    summary: a.summary,
    value: a.value,
    threshold: a.threshold,
    window_start: iso(a.windowStart),
    window_end: iso(a.windowEnd),
    fired_at: iso(a.firedAt),
    last_seen_at: iso(a.lastSeenAt),
    resolved_at: a.resolvedAt === undefined ? null : iso(a.resolvedAt),
    acknowledged_at: a.acknowledgedAt === undefined ? null : iso(a.acknowledgedAt),
    acknowledged_by: a.acknowledgedBy ?? null,
    detail: a.detail ?? {},
  };
}

export function webhookPayload(e: AlertEvent): Record<string, unknown> {
  return { event: `alert.${e.action}`, alert: alertJson(e.alert) };
}

const TIER_LABEL: Readonly<Record<string, string>> = {
  notify: "NOTIFY",
  retrain: "RETRAIN",
  page: "PAGE",
  review: "REVIEW",
  business: "BUSINESS",
};

function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A Slack incoming-webhook message: `text` (notification fallback) and Block Kit `blocks`. */
export function slackPayload(e: AlertEvent): { text: string; blocks: Record<string, unknown>[] } {
  const a = e.alert;
  const verb = e.action === "fired" ? "" : ` (${e.action})`;
  const title = `[keel ${TIER_LABEL[a.tier] ?? a.tier}] ${a.ruleId}${verb}`;
  const model = a.modelVersion !== undefined ? `${a.modelName} v${a.modelVersion}` : a.modelName;
  const fields = [
    `*Model*\n${escapeMrkdwn(model)}`,
    `*Tier*\n${a.tier}`,
    `*Value*\n${a.value}`,
    `*Threshold*\n${a.threshold}`,
    `*Window*\n${iso(a.windowStart)} – ${iso(a.windowEnd)}`,
    `*Status*\n${a.status}`,
  ];
  if (a.feature !== undefined) fields.splice(1, 0, `*Feature*\n${escapeMrkdwn(a.feature)}`);
  return {
    text: `${title}: ${a.summary}`,
    blocks: [
      { type: "header", text: { type: "plain_text", text: title.slice(0, 150) } },
      { type: "section", text: { type: "mrkdwn", text: escapeMrkdwn(a.summary) } },
      // Slack allows at most 10 fields per section.
      { type: "section", fields: fields.slice(0, 10).map((text) => ({ type: "mrkdwn", text })) },
      { type: "context", elements: [{ type: "mrkdwn", text: `alert ${a.id} · dedup ${escapeMrkdwn(a.dedupKey)}` }] },
    ],
  };
}

/** A PagerDuty Events API v2 event; acknowledge and resolve carry only the keys, as the spec has them. */
export function pagerDutyPayload(
  e: AlertEvent,
  options: { readonly routingKey: string; readonly source?: string },
): Record<string, unknown> {
  const a = e.alert;
  // dedup_key: at most 255 characters; the alert id keeps it unique per alert.
  const dedupKey = `keel/${a.id}/${a.dedupKey}`.slice(0, 255);
  if (e.action !== "fired") {
    return {
      routing_key: options.routingKey,
      event_action: e.action === "resolved" ? "resolve" : "acknowledge",
      dedup_key: dedupKey,
    };
  }
  return {
    routing_key: options.routingKey,
    event_action: "trigger",
    dedup_key: dedupKey,
    payload: {
      summary: a.summary.slice(0, 1024),
      source: options.source ?? "keel",
      severity: PAGERDUTY_SEVERITY[a.tier as AlertTier] ?? "warning",
      timestamp: iso(a.firedAt),
      component: a.modelVersion !== undefined ? `${a.modelName}@${a.modelVersion}` : a.modelName,
      group: a.modelName,
      class: a.ruleId,
      custom_details: {
        tier: a.tier,
        rule_id: a.ruleId,
        model_name: a.modelName,
        model_version: a.modelVersion ?? null,
        feature: a.feature ?? null,
        segment: a.segment ?? null,
        value: a.value,
        threshold: a.threshold,
        window_start: iso(a.windowStart),
        window_end: iso(a.windowEnd),
        alert_id: a.id,
        ...(a.detail ?? {}),
      },
    },
    client: "keel",
  };
}

export interface DeliveryResult {
  readonly sink: SinkConfig["type"];
  readonly ok: boolean;
  readonly attempts: number;
  readonly status?: number;
  readonly error?: string;
}

export interface DeliveryDeps {
  readonly fetch: typeof globalThis.fetch;
  /** Receives the log sink's entries. */
  readonly logger: Logger;
  /** Wait between attempts (default: setTimeout; tests may shorten it). */
  readonly retryDelayMs?: number;
}

export function sinkAccepts(sink: SinkConfig, tier: string): boolean {
  return sink.tiers === undefined || sink.tiers.includes(tier as AlertTier);
}

function body(sink: SinkConfig, e: AlertEvent): Record<string, unknown> {
  switch (sink.type) {
    case "webhook":
    case "log":
      return webhookPayload(e);
    case "slack":
      return slackPayload(e);
    case "pagerduty":
      return pagerDutyPayload(e, {
        routingKey: sink.routingKey,
        ...(sink.source !== undefined ? { source: sink.source } : {}),
      });
  }
}

/** Sends one event to one sink. Never throws: the result says what happened. */
export async function deliverAlert(sink: SinkConfig, e: AlertEvent, deps: DeliveryDeps): Promise<DeliveryResult> {
  if (sink.type === "log") {
    deps.logger.info(webhookPayload(e), `alert ${e.action}: ${e.alert.summary}`);
    return { sink: "log", ok: true, attempts: 1 };
  }
  const url = sink.type === "pagerduty" ? (sink.url ?? PAGERDUTY_EVENTS_URL) : sink.url;
  const headers = { "content-type": "application/json", ...(sink.type === "webhook" ? sink.headers : {}) };
  const payload = JSON.stringify(body(sink, e));
  const attempts = 1 + (sink.retries ?? DEFAULT_RETRIES);
  let last: DeliveryResult = { sink: sink.type, ok: false, attempts: 0 };
  for (let i = 1; i <= attempts; i++) {
    try {
      const res = await deps.fetch(url, {
        method: "POST",
        headers,
        body: payload,
        signal: AbortSignal.timeout(sink.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      if (res.ok) return { sink: sink.type, ok: true, attempts: i, status: res.status };
      last = { sink: sink.type, ok: false, attempts: i, status: res.status, error: `HTTP ${res.status}` };
      // 4xx other than 429 will not succeed on a retry (bad payload or key).
      if (res.status < 500 && res.status !== 429) return last;
    } catch (err) {
      last = { sink: sink.type, ok: false, attempts: i, error: err instanceof Error ? err.message : String(err) };
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, (deps.retryDelayMs ?? 250) * 2 ** (i - 1)));
  }
  return last;
}

/** Validates the sink list of a monitoring config (parsed JSON); errors name the sink index and field. */
export function parseSinks(json: unknown): SinkConfig[] {
  return specArray(json, "sinks").map((raw: unknown, i) => {
    const p = `sinks[${i}]`;
    const bad = (field: string, value: unknown, rule: string) => specError(`${p}.${field}`, value, rule);
    if (typeof raw !== "object" || raw === null) throw bad("type", raw, "must be an object with a type");
    const s = raw as Record<string, unknown>;
    const common: { tiers?: AlertTier[]; timeoutMs?: number; retries?: number } = {};
    if (s.tiers !== undefined) {
      if (!Array.isArray(s.tiers) || !s.tiers.every((t) => ALERT_TIERS.includes(t as AlertTier))) {
        throw bad("tiers", s.tiers, `must be a list of ${ALERT_TIERS.join(", ")}`);
      }
      common.tiers = s.tiers as AlertTier[];
    }
    const timeoutMs = specNumber(s, "timeoutMs", p, { integer: true, min: 1 });
    if (timeoutMs !== undefined) common.timeoutMs = timeoutMs;
    const retries = specNumber(s, "retries", p, { integer: true, min: 0, max: 10 });
    if (retries !== undefined) common.retries = retries;
    const url = (required: boolean): string | undefined => {
      if (s.url === undefined && !required) return undefined;
      if (typeof s.url !== "string" || !/^https?:\/\//.test(s.url)) throw bad("url", s.url, "must be an http(s) URL");
      return s.url;
    };
    switch (s.type) {
      case "log":
        return { type: "log", ...common };
      case "webhook": {
        const headers = s.headers;
        if (
          headers !== undefined &&
          (typeof headers !== "object" ||
            headers === null ||
            !Object.values(headers).every((v) => typeof v === "string"))
        ) {
          throw bad("headers", headers, "must be an object of strings");
        }
        return {
          type: "webhook",
          url: url(true)!,
          ...(headers !== undefined ? { headers: headers as Record<string, string> } : {}),
          ...common,
        };
      }
      case "slack":
        return { type: "slack", url: url(true)!, ...common };
      case "pagerduty": {
        if (typeof s.routingKey !== "string" || s.routingKey === "") {
          throw bad("routingKey", s.routingKey, "must be the integration key (non-empty string)");
        }
        if (s.source !== undefined && typeof s.source !== "string") throw bad("source", s.source, "must be a string");
        const u = url(false);
        return {
          type: "pagerduty",
          routingKey: s.routingKey,
          ...(u !== undefined ? { url: u } : {}),
          ...(typeof s.source === "string" ? { source: s.source } : {}),
          ...common,
        };
      }
      default:
        throw bad("type", s.type, "must be log, webhook, slack or pagerduty");
    }
  });
}
