import type { Signature } from "../data/index.js";
import { NotFoundError } from "../errors.js";
import { specError } from "../spec-fields.js";
import type { FeatureStore } from "../features/index.js";
import { silentLogger, systemClock, type Clock, type Logger } from "../runtime/index.js";
import type { InferenceLog, EndpointStore, ReviewStore } from "../store/index.js";
import { AliasFollower, type ServingRegistry, type WatchChanges } from "./alias-follower.js";
import type { PredictionCache } from "./cache.js";
import {
  DEFAULT_ENDPOINT_DEFAULTS,
  parseEndpointConfig,
  type EndpointConfig,
  type EndpointDefaults,
} from "./endpoint-config.js";
import { EndpointRegistry, type EndpointSummary } from "./endpoint-registry.js";
import { entityRequestSignature } from "./entity-features.js";
import { ServingMetrics } from "./metrics.js";
import { ModelPool, type ExplainerLoader, type LoadedModel, type ModelLoader } from "./model-pool.js";
import { PredictionLog, decisionOf, type PredictionResult } from "./prediction-log.js";
import { RequestPath, type RequestContext } from "./request-path.js";
import { ReviewGate } from "./review-gate.js";
import { watchReviewQueue } from "./review-metrics.js";
import {
  RolloutController,
  type CanaryRollback,
  type RolloutOptions,
  type ServingAlert,
} from "./rollout-controller.js";
import { ShadowRunner } from "./shadow-runner.js";
import type { InputTable } from "./input-table.js";

export type { ServingRegistry, WatchChanges } from "./alias-follower.js";
export type { PredictionResult } from "./prediction-log.js";
export type { RequestContext } from "./request-path.js";
export type {
  CanaryGateDecision,
  CanaryGateRequest,
  CanaryRollback,
  RolloutOptions,
  ServingAlert,
} from "./rollout-controller.js";

export interface ModelServerOptions {
  readonly registry: ServingRegistry;
  /** Fetch the artifact (checksum-verified) and open a predictor for one registered version. */
  readonly loadModel: ModelLoader;
  /** Opens a version's exact explainer, for reason codes (`explain: {top_k}`); without it none. */
  readonly loadExplainer?: ExplainerLoader;
  readonly metrics?: ServingMetrics;
  readonly inferenceLog?: InferenceLog;
  /**
   * Shared cache backend (e.g. Redis) for endpoints that enable caching; otherwise an in-process
   * LRU each. The server closes it on stop.
   */
  readonly cache?: PredictionCache;
  readonly clock?: Clock;
  /** How often aliases and registered models are re-read (default 2000 ms). */
  readonly pollIntervalMs?: number;
  /** Endpoints with traffic policies (from a file or the API); others follow `champion` aliases. */
  readonly endpoints?: readonly EndpointConfig[];
  readonly defaults?: EndpointDefaults;
  /** Micro-batching of every loaded model (default 256 rows, 0 ms), overridable per model name. */
  readonly batching?: BatchingOptions;
  readonly modelBatching?: Readonly<Record<string, BatchingOptions>>;
  /**
   * Requests whose shadow scoring may wait at once (default 1024). Shadows are scored after the
   * answer is sent; past this bound new shadow work is dropped (counted as outcome "dropped") so a
   * slow shadow can never hold memory or time that the served route needs.
   */
  readonly shadowQueueLimit?: number;
  /**
   * Longest a request's log records wait for its shadows' answers (default 5000 ms); past it they
   * are written without them, so a stuck shadow cannot hold back the served route's log.
   */
  readonly shadowLogWaitMs?: number;
  /**
   * Where endpoints created through the API are kept (the metadata database), so a restart or
   * another replica serves them too. Re-read on every registry poll; a stored endpoint overrides
   * a file endpoint of the same name.
   */
  readonly endpointStore?: EndpointStore;
  /**
   * Where decisions an endpoint's review policy matches are queued for a person (docs/review.md);
   * with `stats`, the queue's gauges are on `/metrics`.
   */
  readonly reviewQueue?: Pick<ReviewStore, "enqueue"> & Partial<Pick<ReviewStore, "stats">>;
  /** Alert tiers that roll a running canary back in `handleAlert` (default retrain and page). */
  readonly canaryRollbackTiers?: readonly string[];
  /**
   * Where canaries are kept and whose `champion` alias a finished canary moves (see
   * RolloutController); without them a canary never goes past its last step below 100%.
   */
  readonly canaries?: RolloutOptions["canaries"] | undefined;
  /** Evaluates canary gates (`challenger_beats_champion`): the server wires the rollout report in. */
  readonly canaryGate?: RolloutOptions["canaryGate"] | undefined;
  /** Canary rollback hook: true while an alert is firing on the endpoint. */
  readonly isAlertFiring?: (endpoint: string) => boolean | Promise<boolean>;
  /** Several replicas: only the holder of this lease advances canaries (see RolloutOptions). */
  readonly canaryLease?: RolloutOptions["canaryLease"];
  /** False: this replica never makes scheduled canary decisions (see RolloutOptions). */
  readonly decidesCanaries?: boolean;
  /**
   * Change notifications from the metadata database (PostgreSQL): an alias move, endpoint change
   * or canary decision made on another replica is followed at once rather than on the next poll.
   */
  readonly watchChanges?: WatchChanges;
  /** Failures that do not fail a request: sync errors, shadow errors, failed log writes. */
  readonly logger?: Logger;
  /** The feature store endpoints naming a feature service read (serving by entity key). */
  readonly features?: FeatureStore;
}

export interface BatchingOptions {
  readonly maxBatchSize?: number;
  readonly maxLatencyMs?: number;
}

const DEFAULT_BATCHING = { maxBatchSize: 256, maxLatencyMs: 0 };

/**
 * Serves registered models: one endpoint per model with a `champion` alias (plus configured ones),
 * following alias moves by polling the registry (see AliasFollower). Composes the endpoint
 * registry, the alias follower, the request path, the shadow runner, the prediction log and the
 * canary rollout controller.
 */
export class ModelServer {
  readonly metrics: ServingMetrics;
  private readonly pool: ModelPool;
  private readonly endpoints: EndpointRegistry;
  private readonly log: PredictionLog;
  private readonly shadows: ShadowRunner;
  private readonly rollout: RolloutController;
  private readonly follower: AliasFollower;
  private readonly requests: RequestPath;

  constructor(private readonly options: ModelServerOptions) {
    const metrics = (this.metrics = options.metrics ?? new ServingMetrics());
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger;
    this.pool = new ModelPool(
      options.loadModel,
      (name, version) => options.registry.getModelVersion(name, version),
      (name, version) => ({
        ...DEFAULT_BATCHING,
        ...options.batching,
        ...options.modelBatching?.[name],
        onBatch: (rows: number) => metrics.batchSize.observe({ model: name, model_version: version }, rows),
      }),
      (n) => metrics.modelsLoaded.set(n),
      options.loadExplainer,
    );
    this.endpoints = new EndpointRegistry(
      options.endpoints ?? [],
      options.defaults ?? DEFAULT_ENDPOINT_DEFAULTS,
      options.endpointStore,
      logger,
    );
    this.log = new PredictionLog(options.inferenceLog, metrics, logger);
    const readQueue = options.reviewQueue?.stats?.bind(options.reviewQueue);
    if (readQueue !== undefined) watchReviewQueue(metrics.registry, readQueue, clock, logger);
    this.shadows = new ShadowRunner(metrics, this.log, logger, {
      ...(options.shadowQueueLimit !== undefined ? { queueLimit: options.shadowQueueLimit } : {}),
      ...(options.shadowLogWaitMs !== undefined ? { logWaitMs: options.shadowLogWaitMs } : {}),
    });
    this.rollout = new RolloutController(this.endpoints, metrics, this.log, clock, { ...options, logger });
    this.follower = new AliasFollower({
      registry: options.registry,
      pool: this.pool,
      endpoints: this.endpoints,
      rollout: this.rollout,
      clock,
      logger,
      cache: options.cache,
      watchChanges: options.watchChanges,
      metrics,
    });
    this.requests = new RequestPath({
      endpoints: this.endpoints,
      pool: this.pool,
      metrics,
      log: this.log,
      shadows: this.shadows,
      review: new ReviewGate(options.reviewQueue, metrics),
      clock,
      logger,
      ...(options.features ? { features: options.features } : {}),
    });
  }

  /** First sync (loads every served model), then poll. */
  start(): Promise<void> {
    return this.follower.start(this.options.pollIntervalMs ?? 2000);
  }

  /** Stop polling, wait for pending log writes, drain and close every model. */
  async stop(): Promise<void> {
    const shadowsDone = this.shadows.stop();
    await this.follower.stop();
    await shadowsDone;
    await this.rollout.idle();
    await this.rollout.release();
    await this.log.idle();
    const releases: Promise<void>[] = [];
    for (const ep of this.endpoints.endpoints.values()) {
      if (ep.binding) releases.push(...this.follower.releaseBinding(ep.binding));
      ep.binding = undefined;
      if (ep.cache && ep.cache !== this.options.cache) releases.push(ep.cache.close());
    }
    if (this.options.cache) releases.push(this.options.cache.close());
    this.endpoints.endpoints.clear();
    releases.push(...this.requests.releaseVersions());
    await Promise.allSettled(releases);
  }

  /**
   * Ready once the first sync finished and every endpoint marked `required` has its models loaded.
   * Another endpoint whose model fails to load is reported on its own (`listEndpoints`), so one
   * broken model does not take the whole server out of its load balancer.
   */
  get ready(): boolean {
    if (!this.follower.synced) return false;
    for (const ep of this.endpoints.endpoints.values())
      if (ep.config.required && ep.binding === undefined) return false;
    return true;
  }

  /** Aliases of `model` that an endpoint's champion follows (the champion guard's list besides `champion`). */
  championAliases(model: string): string[] {
    const out: string[] = [];
    for (const ep of this.endpoints.endpoints.values()) {
      const c = ep.config.champion;
      if (c.model === model && c.alias !== undefined) out.push(c.alias);
    }
    return out;
  }

  listEndpoints(): EndpointSummary[] {
    return this.endpoints.list();
  }

  /**
   * Add or replace a configured endpoint (in memory only) and bind it now. An endpoint naming a
   * feature service is refused unless the applied feature repository has that service.
   */
  async putEndpoint(config: EndpointConfig): Promise<void> {
    const service = config.featureService;
    if (service !== undefined) {
      const features = this.options.features;
      if (features === undefined) throw specError("endpoint.featureService", service, "needs a feature store");
      const known = (await features.repo()).featureServices.map((f) => f.name);
      if (!known.includes(service)) {
        throw specError(
          "endpoint.featureService",
          service,
          `must name a feature service of the applied feature repository (${known.join(", ") || "none"})`,
        );
      }
    }
    await this.follower.refresh(this.endpoints.apply(config), true);
  }

  /**
   * Validate an endpoint document (`PUT /api/keel/endpoints/{name}`), bind it, then keep it in
   * the endpoint store when there is one. When binding (review rules included) or storing fails,
   * nothing is stored and the previous endpoint is restored.
   */
  /**
   * Validates and binds an endpoint document, then stores it. `authorize` sees the parsed config
   * first and may throw to refuse it (the server's role checks), before anything changes.
   */
  async saveEndpoint(
    document: unknown,
    actor?: string,
    authorize?: (config: EndpointConfig) => void,
  ): Promise<EndpointConfig> {
    const config = parseEndpointConfig(document, this.endpoints.defaults);
    authorize?.(config);
    const store = this.endpoints.store;
    const previous = this.endpoints.configured.get(config.name);
    try {
      await this.putEndpoint(config);
      if (store === undefined) return config;
      await store.put({ name: config.name, model: config.model, document }, actor);
    } catch (e) {
      if (previous !== undefined) await this.putEndpoint(previous).catch(() => undefined);
      else await this.removeConfigured(config.name);
      throw e;
    }
    this.endpoints.markStored(config.name, document);
    return config;
  }

  /** Remove a configured endpoint (and its stored document); a file endpoint of that name comes back. */
  async deleteEndpoint(name: string, actor?: string): Promise<void> {
    if (!this.endpoints.configured.has(name))
      throw new NotFoundError(`endpoint ${JSON.stringify(name)} is not a configured endpoint`);
    const store = this.endpoints.store;
    if (store !== undefined && this.endpoints.isStored(name)) {
      await store.delete(name, actor);
      this.endpoints.forgetStored(name);
      const file = this.endpoints.fileEndpoint(name);
      if (file !== undefined) {
        await this.putEndpoint(file);
        return;
      }
    }
    await this.removeConfigured(name);
  }

  private async removeConfigured(name: string): Promise<void> {
    const ep = this.endpoints.remove(name);
    if (ep !== undefined) await this.follower.release([ep]);
    await this.sync();
  }

  /** The model an endpoint's champion serves (metadata routes). */
  endpointModel(name: string): LoadedModel {
    const ep = this.endpoints.require(name);
    if (ep.binding === undefined) throw ep.unavailable();
    return ep.binding.champion;
  }

  /**
   * What a request to the endpoint carries, for the protocol decoders: the model's signature, or,
   * on an endpoint naming a feature service, its join keys and request fields.
   */
  async requestSignature(
    name: string,
    model: Signature,
  ): Promise<{ signature: Signature; joinKeys: readonly string[] }> {
    const service = this.featureService(name);
    const features = this.options.features;
    if (service === undefined || features === undefined) return { signature: model, joinKeys: [] };
    return entityRequestSignature(await features.serviceInputs(service), model);
  }

  /** The feature service an endpoint looks its features up in, if any. */
  featureService(name: string): string | undefined {
    return this.endpoints.get(name)?.config.featureService;
  }

  hasEndpoint(name: string): boolean {
    return this.endpoints.get(name) !== undefined;
  }

  /** The decision label of a score of a prediction result (its endpoint's labels, its threshold). */
  decision(result: PredictionResult, score: number): string {
    return decisionOf(this.endpoints.get(result.endpoint)?.config, score, result.threshold);
  }

  /** A specific registered version, loaded on first use and kept. */
  versionModel(name: string, version: string): Promise<LoadedModel> {
    return this.requests.versionModel(name, version);
  }

  /** Registered versions of a model (metadata `versions`). */
  async versions(name: string): Promise<string[]> {
    const out: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.options.registry.searchModelVersions({
        filter: `name = '${name.replace(/'/g, "''")}'`,
        maxResults: 1000,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const v of page.items) out.push(v.version);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out.sort((a, b) => Number(a) - Number(b));
  }

  /** Score a request on an endpoint through its traffic policy. */
  predict(endpoint: string, table: InputTable, ctx: RequestContext): Promise<PredictionResult> {
    return this.requests.predict(endpoint, table, ctx);
  }

  /** Score on one registered version directly (`/v2/models/{name}/versions/{v}`). */
  predictVersion(name: string, version: string, table: InputTable, ctx: RequestContext): Promise<PredictionResult> {
    return this.requests.predictVersion(name, version, table, ctx);
  }

  /** Re-read the registry: create/remove default endpoints, rebind moved aliases, step canaries. */
  sync(): Promise<void> {
    return this.follower.sync();
  }

  /**
   * Take an endpoint's running canary out of traffic now (see RolloutController.rollback).
   * Returns undefined when the endpoint has no running canary.
   */
  rollbackCanary(endpoint: string, reason: string, trigger: "alert" | "manual" = "manual"): CanaryRollback | undefined {
    return this.rollout.rollback(endpoint, reason, trigger);
  }

  /** Resolves once every canary decision made so far is stored. */
  canariesStored(): Promise<void> {
    return this.rollout.idle();
  }

  /** The alert engine's entry point: rolls back the running canaries an alert concerns. */
  handleAlert(alert: ServingAlert): CanaryRollback[] {
    return this.rollout.handleAlert(alert);
  }
}
