import { Counter, Gauge, Registry } from "prom-client";
import type { Route } from "./router.js";
import { SeriesHistogram, type HistogramSeries } from "./series-histogram.js";

/**
 * One request series, resolved once. Its request count is added to the prom-client counter when
 * the registry is read (a counter's `inc` hashes its labels on every call, even through a child).
 */
interface RequestSeries {
  readonly labels: Readonly<Record<"endpoint" | "model_version" | "route" | "protocol", string>>;
  pending: number;
  readonly latency: HistogramSeries;
  readonly scores: HistogramSeries;
}

/**
 * Serving metrics on a registry owned by one app (never prom-client's global default), so two
 * servers in one process — or two tests — never share counters.
 */
export class ServingMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"endpoint" | "model_version" | "route" | "protocol">;
  readonly errors: Counter<"endpoint" | "model_version" | "route" | "kind">;
  readonly latency: SeriesHistogram<"endpoint" | "model_version" | "route">;
  readonly batchSize: SeriesHistogram<"model" | "model_version">;
  readonly fallbacks: Counter<"endpoint" | "reason">;
  readonly reviewsQueued: Counter<"endpoint">;
  readonly cacheHits: Counter<"endpoint">;
  readonly cacheMisses: Counter<"endpoint">;
  readonly scores: SeriesHistogram<"endpoint" | "model_version" | "route">;
  readonly shadowRequests: Counter<"endpoint" | "model_version" | "outcome">;
  readonly modelsLoaded: Gauge;
  readonly modelLoadFailures: Counter<"endpoint">;
  readonly inferenceLogRecords: Counter<"outcome">;
  readonly inferenceLogWriteFailures: Counter<"durability">;
  readonly inferenceLogHeldRecords: Gauge;
  readonly canaryRollbacks: Counter<"endpoint" | "model_version" | "trigger">;
  readonly canaryTraffic: Gauge<"endpoint" | "model_version">;
  private readonly series = new Map<string, RequestSeries>();

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.requests = new Counter({
      name: "keel_serving_requests_total",
      help: "Prediction requests answered, by endpoint, model version, route and protocol.",
      labelNames: ["endpoint", "model_version", "route", "protocol"],
      registers,
      collect: () => this.flushRequests(),
    });
    this.errors = new Counter({
      name: "keel_serving_errors_total",
      help: "Prediction requests that failed, by kind (invalid_input, model_error, deadline, unavailable).",
      labelNames: ["endpoint", "model_version", "route", "kind"],
      registers,
    });
    this.latency = new SeriesHistogram(
      "keel_serving_request_duration_seconds",
      "Time from a decoded request to its scores, by endpoint, model version and route.",
      ["endpoint", "model_version", "route"],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    );
    this.batchSize = new SeriesHistogram(
      "keel_serving_batch_size_rows",
      "Rows per model call after micro-batching.",
      ["model", "model_version"],
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    );
    this.fallbacks = new Counter({
      name: "keel_serving_fallbacks_total",
      help: "Requests answered by the fallback, by reason (model_error, deadline).",
      labelNames: ["endpoint", "reason"],
      registers,
    });
    this.reviewsQueued = new Counter({
      name: "keel_serving_reviews_queued_total",
      help: "Decisions (rows) sent to the human review queue",
      labelNames: ["endpoint"],
      registers,
    });
    this.cacheHits = new Counter({
      name: "keel_serving_cache_hits_total",
      help: "Rows answered from the prediction cache.",
      labelNames: ["endpoint"],
      registers,
    });
    this.cacheMisses = new Counter({
      name: "keel_serving_cache_misses_total",
      help: "Rows looked up in the prediction cache and not found.",
      labelNames: ["endpoint"],
      registers,
    });
    this.scores = new SeriesHistogram(
      "keel_serving_score",
      "Distribution of returned scores.",
      ["endpoint", "model_version", "route"],
      [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1],
      registers,
    );
    this.shadowRequests = new Counter({
      name: "keel_serving_shadow_requests_total",
      help: "Shadow scorings, by outcome (ok, error, dropped); never returned to callers.",
      labelNames: ["endpoint", "model_version", "outcome"],
      registers,
    });
    this.modelsLoaded = new Gauge({
      name: "keel_serving_models_loaded",
      help: "Model versions currently loaded in memory.",
      registers,
    });
    this.modelLoadFailures = new Counter({
      name: "keel_serving_model_load_failures_total",
      help: "Failed attempts to load an endpoint's models (the reason is on its /v2/models/{name}/ready).",
      labelNames: ["endpoint"],
      registers,
    });
    this.inferenceLogRecords = new Counter({
      name: "keel_serving_inference_log_records_total",
      help: "Inference log records, by outcome (written, sampled_out, failed).",
      labelNames: ["outcome"],
      registers,
    });
    this.inferenceLogWriteFailures = new Counter({
      name: "keel_inference_log_write_failures_total",
      help: "Inference log appends that did not commit, by durability (sync: an audit record; async).",
      labelNames: ["durability"],
      registers,
    });
    this.inferenceLogHeldRecords = new Gauge({
      name: "keel_inference_log_held_records",
      help: "Async inference log records held in memory after a failed write, to be written again once writes succeed.",
      registers,
    });
    this.canaryRollbacks = new Counter({
      name: "keel_serving_canary_rollbacks_total",
      help: "Canaries rolled back, by trigger (alert, error_rate, gate, manual).",
      labelNames: ["endpoint", "model_version", "trigger"],
      registers,
    });
    this.canaryTraffic = new Gauge({
      name: "keel_serving_canary_traffic_percent",
      help: "Share of an endpoint's traffic the canary currently takes (0 once rolled back).",
      labelNames: ["endpoint", "model_version"],
      registers,
    });
  }

  /** One answered request: its count, latency and every returned score. */
  observeRequest(
    endpoint: string,
    version: string,
    route: Route,
    protocol: string,
    scores: Float64Array,
    latencySeconds: number,
  ): void {
    const key = `${endpoint}\u0000${version}\u0000${route}\u0000${protocol}`;
    let series = this.series.get(key);
    if (series === undefined) {
      const labels = { endpoint, model_version: version, route };
      series = {
        labels: { ...labels, protocol },
        pending: 0,
        latency: this.latency.labels(labels),
        scores: this.scores.labels(labels),
      };
      this.series.set(key, series);
    }
    series.pending++;
    series.latency.observe(latencySeconds);
    for (let i = 0; i < scores.length; i++) series.scores.observe(scores[i] as number);
  }

  private flushRequests(): void {
    for (const s of this.series.values()) {
      if (s.pending === 0) continue;
      this.requests.inc(s.labels, s.pending);
      s.pending = 0;
    }
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
