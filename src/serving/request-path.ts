import type { Frame } from "../data/index.js";
import { InvalidParameterError, KeelError, UnavailableError } from "../errors.js";
import type { FeatureStore } from "../features/index.js";
import type { Clock, Logger } from "../runtime/index.js";
import { rowCacheKeys } from "./cache.js";
import type { EndpointConfig } from "./endpoint-config.js";
import { missingEndpoint, type Binding, type EndpointRegistry, type EndpointRuntime } from "./endpoint-registry.js";
import { withServedFeatures } from "./entity-features.js";
import type { InputTable } from "./input-table.js";
import { findLimitBreach, limitError } from "./limits.js";
import type { ServingMetrics } from "./metrics.js";
import type { LoadedModel, ModelPool } from "./model-pool.js";
import {
  thresholdOf,
  type DecisionContext,
  type HeldRecord,
  type PredictionLog,
  type PredictionResult,
} from "./prediction-log.js";
import { reasonCodes } from "./reason-codes.js";
import { newRequestId } from "./request-id.js";
import type { ReviewGate } from "./review-gate.js";
import { canaryPercent, chooseRoute, type Route } from "./router.js";
import type { ShadowRunner } from "./shadow-runner.js";

export interface RequestContext {
  readonly requestId?: string;
  /** Business key for sticky routing and the inference log (e.g. applicant id). */
  readonly entityId?: string;
  /** Label for metrics: oip, mlflow, keel. */
  readonly protocol: string;
  /** The caller's token name for the decision record; "anonymous" when absent. */
  readonly caller?: string;
  /** Reason codes asked for by this request; overrides the endpoint's `explain`. */
  readonly explain?: { readonly topK: number };
}

export interface RequestPathDeps {
  readonly endpoints: EndpointRegistry;
  readonly pool: ModelPool;
  readonly metrics: ServingMetrics;
  readonly log: PredictionLog;
  readonly shadows: ShadowRunner;
  readonly review: ReviewGate;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where endpoints naming a feature service look their features up. */
  readonly features?: FeatureStore;
}

/**
 * A request from its decoded table to its scores: route choice (champion, challenger, canary),
 * input validation, cache, deadline and fallback, metrics, the inference log and shadow work.
 */
export class RequestPath {
  private readonly direct = new Map<string, Promise<LoadedModel>>();

  constructor(private readonly deps: RequestPathDeps) {}

  /** Score a request on an endpoint through its traffic policy. */
  predict(endpoint: string, table: InputTable, ctx: RequestContext): Promise<PredictionResult> {
    const ep = this.deps.endpoints.get(endpoint);
    if (ep === undefined) return Promise.reject(missingEndpoint(endpoint));
    if (ep.config.featureService === undefined) return this.route(ep, table, ctx);
    return this.servedFeatures(ep.config, table).then((served) => this.route(ep, served, ctx));
  }

  /** The request's entity keys turned into the model's features (endpoints naming a feature service). */
  servedFeatures(config: EndpointConfig, table: InputTable): Promise<InputTable> {
    const service = config.featureService;
    if (service === undefined) return Promise.resolve(table);
    const store = this.deps.features;
    const lookup =
      store === undefined
        ? Promise.reject(
            new UnavailableError(
              `endpoint ${JSON.stringify(config.name)} names feature service ${JSON.stringify(service)}, and this server has no feature store`,
            ),
          )
        : withServedFeatures(store, service, table);
    return lookup.catch((e: unknown) => {
      this.deps.metrics.errors.inc({ endpoint: config.name, model_version: "", route: "", kind: errorKind(e) });
      throw e;
    });
  }

  private route(ep: EndpointRuntime, table: InputTable, ctx: RequestContext): Promise<PredictionResult> {
    const endpoint = ep.config.name;
    const binding = ep.binding;
    if (binding === undefined) {
      this.deps.metrics.errors.inc({ endpoint, model_version: "", route: "", kind: "unavailable" });
      return Promise.reject(ep.unavailable());
    }
    const requestId = ctx.requestId ?? newRequestId();
    const key = ctx.entityId ?? requestId;
    const canaryShare =
      binding.canary && ep.canary && ep.config.canary ? canaryPercent(ep.canary, ep.config.canary.schedule) : 0;
    const challengerShare = binding.challenger ? (ep.config.challenger?.percent ?? 0) : 0;
    let route: Route =
      canaryShare === 0 && challengerShare === 0 ? "champion" : chooseRoute(key, canaryShare, challengerShare);
    let model = route === "canary" ? binding.canary : route === "challenger" ? binding.challenger : binding.champion;
    if (model === undefined) {
      route = "champion";
      model = binding.champion;
    }
    // Hold the fallback model now, so an alias move cannot close it under this request.
    const holdPrevious = binding.previous?.enter();
    const scored = this.score(ep, binding, model, route, table, requestId, ctx);
    if (holdPrevious === undefined) return scored;
    return scored.then(
      (result) => {
        holdPrevious();
        return result;
      },
      (e: unknown) => {
        holdPrevious();
        throw e;
      },
    );
  }

  /** A specific registered version, loaded on first use and kept. */
  versionModel(name: string, version: string): Promise<LoadedModel> {
    const key = `${name}\u0000${version}`;
    let p = this.direct.get(key);
    if (p === undefined) {
      p = this.deps.pool.acquire(name, version);
      this.direct.set(key, p);
      p.catch(() => this.direct.delete(key));
    }
    return p;
  }

  /** Release every version loaded by `versionModel`. */
  releaseVersions(): Promise<void>[] {
    const releases = [...this.direct.values()].map((p) => p.then((m) => this.deps.pool.release(m)));
    this.direct.clear();
    return releases;
  }

  /** Score on one registered version directly (`/v2/models/{name}/versions/{v}`). */
  async predictVersion(
    name: string,
    version: string,
    table: InputTable,
    ctx: RequestContext,
  ): Promise<PredictionResult> {
    const { metrics, log } = this.deps;
    const model = await this.versionModel(name, version);
    const requestId = ctx.requestId ?? newRequestId();
    const time = this.deps.clock();
    const started = performance.now();
    // Logged and validated under the model's endpoint policy (sampling, audit, input) when it has one.
    const config = this.deps.endpoints.configFor(name);
    if (config.featureService !== undefined) table = await this.servedFeatures(config, table);
    const leave = model.enter();
    let frame: Frame;
    try {
      frame = this.admit(config, model, "direct", table, { requestId, time, entityId: ctx.entityId });
    } catch (e) {
      leave();
      throw e;
    }
    try {
      const scores = await model.batcher.submit(frame);
      const topK = ctx.explain?.topK ?? config.explain?.topK;
      const reasons = topK === undefined ? undefined : await reasonCodes(model, frame, table, topK);
      const latency = (performance.now() - started) / 1000;
      metrics.observeRequest(name, version, "direct", ctx.protocol, scores, latency);
      const result: PredictionResult = {
        requestId,
        endpoint: name,
        modelName: name,
        modelVersion: version,
        route: "direct",
        scores,
        threshold: thresholdOf(config, model),
        cachedRows: 0,
        ...(reasons !== undefined ? { reasons } : {}),
      };
      const decision = { caller: ctx.caller ?? "anonymous", artifactSha256: model.artifactSha256, frame };
      const records = log.sampledRecords(config, result, table, time, latency * 1000, ctx.entityId, false, decision);
      if (records !== undefined) await log.append(records, config.inferenceLog.audit === "sync", requestId);
      return result;
    } catch (e) {
      metrics.errors.inc({ endpoint: name, model_version: version, route: "direct", kind: errorKind(e) });
      throw e;
    } finally {
      leave();
    }
  }

  private async score(
    ep: EndpointRuntime,
    binding: Binding,
    model: LoadedModel,
    route: Route,
    table: InputTable,
    requestId: string,
    ctx: RequestContext,
  ): Promise<PredictionResult> {
    const name = ep.config.name;
    const metrics = this.deps.metrics;
    const time = this.deps.clock();
    const started = performance.now();
    const leave = model.enter();
    let frame: Frame;
    try {
      frame = this.admit(ep.config, model, route, table, { requestId, time, entityId: ctx.entityId });
    } catch (e) {
      leave();
      throw e;
    }
    let scores: Float64Array | undefined;
    let cachedRows = 0;
    let keys: string[] | undefined;
    let failure: "model_error" | "deadline" | undefined;
    let cause: unknown;
    try {
      if (ep.cache) {
        keys = rowCacheKeys(model.name, model.version, frame);
        scores = await this.cachedScores(ep, keys, frame.nRows);
        if (scores !== undefined) cachedRows = frame.nRows;
      }
      if (scores === undefined) {
        try {
          scores = await withDeadline(model.batcher.submit(frame), ep.config.deadlineMs);
          if (route === "canary") ep.canaryRequests++;
          if (keys !== undefined) this.cacheScores(ep, keys, scores);
        } catch (e) {
          if (route === "canary") {
            ep.canaryRequests++;
            ep.canaryErrors++;
          }
          failure = e instanceof DeadlineError ? "deadline" : "model_error";
          cause = e;
          metrics.errors.inc({ endpoint: name, model_version: model.version, route, kind: failure });
        }
      }
    } finally {
      leave();
    }

    let servedBy = model;
    let servedRoute = route;
    let artifactSha256 = model.artifactSha256;
    if (scores === undefined) {
      const fb = await this.fallback(ep, binding, table, frame.nRows, failure ?? "model_error", cause);
      scores = fb.scores;
      servedRoute = "fallback";
      artifactSha256 = fb.model?.artifactSha256;
      if (fb.model) servedBy = fb.model;
    }
    // Only an explained request pays for it; a fallback answer carries no reason codes.
    const topK = ctx.explain?.topK ?? ep.config.explain?.topK;
    const reasons =
      topK !== undefined && servedRoute !== "fallback" ? await reasonCodes(model, frame, table, topK) : undefined;
    const latency = (performance.now() - started) / 1000;
    metrics.observeRequest(name, servedBy.version, servedRoute, ctx.protocol, scores, latency);
    const served: PredictionResult = {
      requestId,
      endpoint: name,
      modelName: servedBy.name,
      modelVersion: servedBy.version,
      route: servedRoute,
      scores,
      // A constant fallback score is decided at the threshold of the model that failed.
      threshold: thresholdOf(ep.config, servedBy),
      ...(failure ? { fallback: failure } : {}),
      cachedRows,
      ...(reasons !== undefined ? { reasons } : {}),
    };
    const reviewing = this.deps.review.review(ep.config, served, table, time, ctx.entityId);
    const reviews = reviewing === undefined ? undefined : await reviewing;
    const result = reviews === undefined ? served : { ...served, reviews };
    const decision: DecisionContext = { caller: ctx.caller ?? "anonymous", artifactSha256, frame };
    const durable = this.logRequest(ep, binding, model, table, result, time, latency * 1000, ctx.entityId, decision);
    if (durable !== undefined) await durable;
    return result;
  }

  /**
   * The answer's records to the log and its shadow work to the queue. With shadows and an async
   * log, the records wait (in memory) for the shadows' answers. Returns the audit write to await.
   */
  private logRequest(
    ep: EndpointRuntime,
    binding: Binding,
    model: LoadedModel,
    table: InputTable,
    result: PredictionResult,
    time: number,
    latencyMs: number,
    entityId: string | undefined,
    decision: DecisionContext,
  ): Promise<void> | undefined {
    const frame = decision.frame;
    const { log, shadows: runner } = this.deps;
    // A challenger's or canary's request is scored by the champion too, off the critical path, so
    // every answer of a candidate has the champion's answer to the same request beside it in the
    // log: the paired evidence of the rollout report.
    const paired =
      (result.route === "canary" || result.route === "challenger") && binding.champion !== model
        ? [binding.champion]
        : [];
    const shadows = paired.length === 0 ? binding.shadows : [...binding.shadows, ...paired];
    const sync = ep.config.inferenceLog.audit === "sync";
    const queued = shadows.length > 0 && runner.accepts(ep, shadows);
    // Held records are appended by the shadow runner once the shadows have answered.
    const hold = queued && !sync;
    const records = log.sampledRecords(ep.config, result, table, time, latencyMs, entityId, hold, decision);
    const durable = records !== undefined && !hold ? log.append(records, sync, result.requestId) : undefined;
    if (queued) {
      runner.enqueue({
        ep,
        shadows,
        table,
        frame,
        signatureKey: model.signatureKey,
        requestId: result.requestId,
        entityId,
        time,
        records: sync ? undefined : (records as HeldRecord[] | undefined),
      });
    }
    return durable;
  }

  /**
   * The request's typed frame if the door lets it in: the signature's types (and, when the
   * endpoint's input policy says `reject`, its observed ranges and categories), then the
   * endpoint's business limits. A refusal is counted (`keel_serving_errors_total`, kind
   * `invalid_input` or `business_limit`), logged as a warning and in the inference log (route
   * `refused`), and thrown, naming field, value and rule.
   */
  private admit(
    config: EndpointConfig,
    model: LoadedModel,
    route: Route,
    table: InputTable,
    request: { readonly requestId: string; readonly time: number; readonly entityId: string | undefined },
  ): Frame {
    let kind = "invalid_input";
    try {
      const frame = model.validatorFor(config.input)(table);
      const breach = config.limits === undefined ? undefined : findLimitBreach(config.limits, table);
      if (breach !== undefined) {
        kind = "business_limit";
        throw limitError(breach, table);
      }
      return frame;
    } catch (e) {
      const { requestId } = request;
      this.deps.metrics.errors.inc({ endpoint: config.name, model_version: model.version, route, kind });
      const reason = e instanceof Error ? e.message : String(e);
      this.deps.logger.warn(
        { endpoint: config.name, model_version: model.version, request_id: requestId, kind },
        `serving: endpoint ${config.name} refused request ${requestId}: ${reason}`,
      );
      const refused = { requestId, modelName: model.name, modelVersion: model.version };
      this.deps.log.logRefused(config, refused, table, request.time, reason, request.entityId);
      throw e;
    }
  }

  /** All rows' scores from the cache, or undefined when any row missed. */
  private async cachedScores(ep: EndpointRuntime, keys: string[], nRows: number): Promise<Float64Array | undefined> {
    const name = ep.config.name;
    // A cache that cannot answer is a miss, never a failed request.
    let hits: (number | undefined)[];
    try {
      hits = await (ep.cache as NonNullable<EndpointRuntime["cache"]>).getMany(keys);
    } catch (e) {
      this.deps.logger.error({ err: e }, `serving: cache lookup failed on endpoint ${name}`);
      hits = [];
    }
    let cachedRows = 0;
    for (let i = 0; i < nRows; i++) if (hits[i] !== undefined) cachedRows++;
    if (cachedRows > 0) this.deps.metrics.cacheHits.inc({ endpoint: name }, cachedRows);
    if (cachedRows < nRows) this.deps.metrics.cacheMisses.inc({ endpoint: name }, nRows - cachedRows);
    return cachedRows === nRows ? Float64Array.from(hits as number[]) : undefined;
  }

  /** Keep fresh scores in the cache, in the background: a failed write only costs a later miss. */
  private cacheScores(ep: EndpointRuntime, keys: readonly string[], scores: Float64Array): void {
    const name = ep.config.name;
    (ep.cache as NonNullable<EndpointRuntime["cache"]>)
      .setMany(
        keys.map((key, i) => [key, scores[i] as number] as const),
        ep.config.cache?.ttlMs,
      )
      .catch((e: unknown) => this.deps.logger.error({ err: e }, `serving: cache write failed on endpoint ${name}`));
  }

  private async fallback(
    ep: EndpointRuntime,
    binding: Binding,
    table: InputTable,
    nRows: number,
    reason: "model_error" | "deadline",
    cause: unknown,
  ): Promise<{ scores: Float64Array; model?: LoadedModel }> {
    const fb = ep.config.fallback;
    const name = ep.config.name;
    if (fb?.previousVersion && binding.previous) {
      const prev = binding.previous;
      const leave = prev.enter();
      try {
        const scores = await withDeadline(
          prev.batcher.submit(prev.validatorFor(ep.config.input)(table)),
          ep.config.deadlineMs,
        );
        this.deps.metrics.fallbacks.inc({ endpoint: name, reason });
        return { scores, model: prev };
      } catch (e) {
        if (fb.score === undefined) throw failed(name, reason, e);
      } finally {
        leave();
      }
    }
    if (fb?.score !== undefined) {
      this.deps.metrics.fallbacks.inc({ endpoint: name, reason });
      return { scores: new Float64Array(nRows).fill(fb.score) };
    }
    throw failed(name, reason, cause);
  }
}

class DeadlineError extends Error {}

function withDeadline<T>(p: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`deadline of ${ms} ms passed`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

function failed(endpoint: string, reason: "model_error" | "deadline", cause: unknown): KeelError {
  return reason === "deadline"
    ? new UnavailableError(`endpoint ${endpoint}: the model passed its deadline and no fallback answered`, { cause })
    : new KeelError("INTERNAL_ERROR", `endpoint ${endpoint}: the model failed and no fallback answered`, { cause });
}

function errorKind(e: unknown): string {
  if (e instanceof InvalidParameterError) return "invalid_input";
  if (e instanceof UnavailableError) return "unavailable";
  return "model_error";
}
