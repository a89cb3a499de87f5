import { InvalidParameterError, KeelError, NotFoundError, UnavailableError } from "../errors.js";
import type { RegistryStore } from "../registry/types.js";
import type { InferenceLog, InferenceRecord, ShadowScore } from "../store/inference-log.js";
import type { EndpointStore } from "../store/serving-endpoints.js";
import { LruTtlCache, rowCacheKeys, type PredictionCache } from "./cache.js";
import {
  DEFAULT_ENDPOINT_DEFAULTS,
  defaultEndpoint,
  parseEndpointConfig,
  type EndpointConfig,
  type EndpointDefaults,
  type ResolvedRef,
} from "./endpoint-config.js";
import type { Frame } from "../data/frame.js";
import { concatFrames } from "./batcher.js";
import type { InputTable } from "./input-table.js";
import { ServingMetrics } from "./metrics.js";
import { newRequestId } from "./request-id.js";
import { ModelPool, type LoadedModel, type ModelLoader } from "./model-pool.js";
import {
  advanceCanary,
  canaryPercent,
  chooseRoute,
  inPercent,
  startCanary,
  type CanaryState,
  type Route,
} from "./router.js";

export type ServingRegistry = Pick<
  RegistryStore,
  | "searchRegisteredModels"
  | "getRegisteredModel"
  | "getModelVersion"
  | "getVersionByAlias"
  | "aliasHistory"
  | "searchModelVersions"
>;

export interface ModelServerOptions {
  readonly registry: ServingRegistry;
  /** Fetch the artifact (checksum-verified) and open a predictor for one registered version. */
  readonly loadModel: ModelLoader;
  readonly metrics?: ServingMetrics;
  readonly inferenceLog?: InferenceLog;
  /**
   * Shared cache backend (e.g. Redis) for endpoints that enable caching; otherwise an in-process
   * LRU each. The server closes it on stop.
   */
  readonly cache?: PredictionCache;
  readonly clock?: { now(): number };
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
  /** Alert tiers that roll a running canary back in `handleAlert` (default retrain and page). */
  readonly canaryRollbackTiers?: readonly string[];
  /** Canary rollback hook: true while an alert is firing on the endpoint. */
  readonly isAlertFiring?: (endpoint: string) => boolean | Promise<boolean>;
  readonly onError?: (message: string, error: unknown) => void;
}

export interface BatchingOptions {
  readonly maxBatchSize?: number;
  readonly maxLatencyMs?: number;
}

const DEFAULT_BATCHING = { maxBatchSize: 256, maxLatencyMs: 0 };

/** An alert as the alert engine raises it; `handleAlert` decides which canaries it concerns. */
export interface ServingAlert {
  /** The registered model the alert is about. */
  readonly modelName: string;
  /** Set when the alert concerns one version: only a canary of that version is rolled back. */
  readonly modelVersion?: string;
  /** Set when the alert concerns one endpoint's traffic. */
  readonly endpoint?: string;
  /** notify, retrain, page, ... */
  readonly tier: string;
  /** The rule that fired, for the reason recorded with the rollback. */
  readonly rule?: string;
  readonly message?: string;
}

/** A canary taken out of traffic. */
export interface CanaryRollback {
  readonly endpoint: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly reason: string;
}

export interface RequestContext {
  readonly requestId?: string;
  /** Business key for sticky routing and the inference log (e.g. applicant id). */
  readonly entityId?: string;
  /** Label for metrics: oip, mlflow, keel. */
  readonly protocol: string;
}

export interface PredictionResult {
  readonly requestId: string;
  readonly endpoint: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly route: Route;
  readonly scores: Float64Array;
  /** Set when the fallback answered: why the primary did not. */
  readonly fallback?: "model_error" | "deadline";
  readonly cachedRows: number;
}

interface Binding {
  readonly key: string;
  readonly champion: LoadedModel;
  readonly challenger?: LoadedModel;
  readonly canary?: LoadedModel;
  readonly shadows: readonly LoadedModel[];
  readonly previous?: LoadedModel;
}

/** A logged row held back until the request's shadows have added their answers to it. */
type HeldRecord = InferenceRecord & { readonly shadows: ShadowScore[] };

interface ShadowWork {
  readonly ep: EndpointRuntime;
  readonly shadows: readonly LoadedModel[];
  readonly table: InputTable;
  /** The served model's validated frame: shadows with the same signature score it as is. */
  readonly frame: Frame;
  readonly signatureKey: string;
  readonly requestId: string;
  readonly entityId: string | undefined;
  readonly time: number;
  /**
   * The request's records, appended once every shadow has answered (async log). Undefined when
   * the request is not logged, or was logged before the answer (`audit: "sync"`): then each
   * shadow writes records of its own.
   */
  readonly records: HeldRecord[] | undefined;
}

class EndpointRuntime {
  binding: Binding | undefined;
  canary: CanaryState | undefined;
  canaryRequests = 0;
  canaryErrors = 0;
  cache: PredictionCache | undefined;
  constructor(public config: EndpointConfig) {}
}

/**
 * Serves registered models: one endpoint per model with a `champion` alias (plus configured ones),
 * following alias moves by polling the registry. A move loads and warms the new version first,
 * swaps the endpoint's binding in one assignment, then drains and closes the old version — so
 * requests in flight finish on the model they started with and none fail.
 */
export class ModelServer {
  readonly metrics: ServingMetrics;
  private readonly pool: ModelPool;
  private readonly endpoints = new Map<string, EndpointRuntime>();
  private readonly configured = new Map<string, EndpointConfig>();
  /** Endpoints of the serving file, restored when a stored endpoint of the same name is deleted. */
  private readonly fileEndpoints = new Map<string, EndpointConfig>();
  /** Stored endpoint documents (JSON) this server has applied, by name. */
  private readonly storedDocuments = new Map<string, string>();
  private readonly direct = new Map<string, Promise<LoadedModel>>();
  private readonly clock: { now(): number };
  private readonly defaults: EndpointDefaults;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private synced = false;
  private stopped = false;
  private readonly pendingLogs = new Set<Promise<void>>();
  private shadowQueue: ShadowWork[] = [];
  private shadowScheduled = false;
  private readonly shadowQueueLimit: number;
  private shadowsRunning: Promise<void> = Promise.resolve();
  private readonly series = new Map<
    string,
    { requests: { inc(): void }; latency: { observe(v: number): void }; scores: { observe(v: number): void } }
  >();

  constructor(private readonly options: ModelServerOptions) {
    this.metrics = options.metrics ?? new ServingMetrics();
    this.clock = options.clock ?? { now: () => Date.now() };
    this.defaults = options.defaults ?? DEFAULT_ENDPOINT_DEFAULTS;
    this.shadowQueueLimit = options.shadowQueueLimit ?? 1024;
    for (const e of options.endpoints ?? []) {
      this.configured.set(e.name, e);
      this.fileEndpoints.set(e.name, e);
    }
    this.pool = new ModelPool(
      options.loadModel,
      (name, version) => options.registry.getModelVersion(name, version),
      (name, version) => ({
        ...DEFAULT_BATCHING,
        ...options.batching,
        ...options.modelBatching?.[name],
        onBatch: (rows: number) => this.metrics.batchSize.observe({ model: name, model_version: version }, rows),
      }),
      (n) => this.metrics.modelsLoaded.set(n),
    );
  }

  /** First sync (loads every served model), then poll. */
  async start(): Promise<void> {
    await this.sync();
    const every = this.options.pollIntervalMs ?? 2000;
    this.timer = setInterval(() => void this.sync(), every);
    this.timer.unref();
  }

  /** Stop polling, wait for pending log writes, drain and close every model. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.syncing;
    this.drainShadows();
    await this.shadowsRunning;
    await Promise.allSettled([...this.pendingLogs]);
    const releases: Promise<void>[] = [];
    for (const ep of this.endpoints.values()) {
      if (ep.binding) releases.push(...this.releaseBinding(ep.binding));
      ep.binding = undefined;
      if (ep.cache && ep.cache !== this.options.cache) releases.push(ep.cache.close());
    }
    if (this.options.cache) releases.push(this.options.cache.close());
    this.endpoints.clear();
    for (const p of this.direct.values()) releases.push(p.then((m) => this.pool.release(m)));
    this.direct.clear();
    await Promise.allSettled(releases);
  }

  /** Ready once the first sync finished and every endpoint has a loaded champion. */
  get ready(): boolean {
    if (!this.synced) return false;
    for (const ep of this.endpoints.values()) if (ep.binding === undefined) return false;
    return true;
  }

  listEndpoints(): {
    name: string;
    model: string;
    configured: boolean;
    ready: boolean;
    versions: Record<string, string>;
    canary?: CanaryState;
  }[] {
    return [...this.endpoints.values()].map((ep) => {
      const b = ep.binding;
      const versions: Record<string, string> = {};
      if (b) {
        versions.champion = b.champion.version;
        if (b.challenger) versions.challenger = b.challenger.version;
        if (b.canary) versions.canary = b.canary.version;
        if (b.previous) versions.fallback = b.previous.version;
        b.shadows.forEach((s, i) => (versions[`shadow${i}`] = s.version));
      }
      return {
        name: ep.config.name,
        model: ep.config.model,
        configured: ep.config.configured,
        ready: b !== undefined,
        versions,
        ...(ep.canary ? { canary: ep.canary } : {}),
      };
    });
  }

  /** Add or replace a configured endpoint (in memory only) and bind it now. */
  async putEndpoint(config: EndpointConfig): Promise<void> {
    this.applyConfig(config);
    await this.refresh(this.endpoints.get(config.name) as EndpointRuntime, true);
  }

  /**
   * Validate an endpoint document (`PUT /api/keel/endpoints/{name}`), bind it, then keep it in
   * the endpoint store when there is one. Nothing is stored when binding fails; if storing fails
   * the previous endpoint is restored.
   */
  async saveEndpoint(document: unknown, actor?: string): Promise<EndpointConfig> {
    const config = parseEndpointConfig(document, this.defaults);
    const store = this.options.endpointStore;
    const previous = this.configured.get(config.name);
    await this.putEndpoint(config);
    if (store === undefined) return config;
    try {
      await store.put({ name: config.name, model: config.model, document }, actor);
    } catch (e) {
      if (previous !== undefined) await this.putEndpoint(previous).catch(() => undefined);
      else await this.removeConfigured(config.name);
      throw e;
    }
    this.storedDocuments.set(config.name, JSON.stringify(document));
    return config;
  }

  /** Remove a configured endpoint (and its stored document); a file endpoint of that name comes back. */
  async deleteEndpoint(name: string, actor?: string): Promise<void> {
    if (!this.configured.has(name))
      throw new NotFoundError(`endpoint ${JSON.stringify(name)} is not a configured endpoint`);
    const store = this.options.endpointStore;
    if (store !== undefined && this.storedDocuments.has(name)) {
      await store.delete(name, actor);
      this.storedDocuments.delete(name);
      const file = this.fileEndpoints.get(name);
      if (file !== undefined) {
        await this.putEndpoint(file);
        return;
      }
    }
    await this.removeConfigured(name);
  }

  private applyConfig(config: EndpointConfig): void {
    this.configured.set(config.name, config);
    const ep = this.endpoints.get(config.name);
    if (ep) {
      ep.config = config;
      ep.canary = undefined;
    } else this.endpoints.set(config.name, new EndpointRuntime(config));
  }

  private async removeConfigured(name: string): Promise<void> {
    this.configured.delete(name);
    const ep = this.endpoints.get(name);
    this.endpoints.delete(name);
    if (ep?.binding) await Promise.allSettled(this.releaseBinding(ep.binding));
    await this.sync();
  }

  /** Apply the endpoint store's documents: new and changed ones bound, deleted ones removed. */
  private async loadStoredEndpoints(): Promise<void> {
    const store = this.options.endpointStore;
    if (store === undefined) return;
    const rows = await store.list();
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.name);
      const json = JSON.stringify(row.document);
      if (this.storedDocuments.get(row.name) === json) continue;
      this.storedDocuments.set(row.name, json);
      try {
        this.applyConfig(parseEndpointConfig(row.document, this.defaults, `stored endpoint ${row.name}`));
      } catch (e) {
        this.options.onError?.(`serving: stored endpoint ${row.name} is not a valid endpoint`, e);
      }
    }
    for (const name of [...this.storedDocuments.keys()]) {
      if (seen.has(name)) continue;
      this.storedDocuments.delete(name);
      const file = this.fileEndpoints.get(name);
      if (file !== undefined) {
        this.applyConfig(file);
        continue;
      }
      this.configured.delete(name);
      const ep = this.endpoints.get(name);
      this.endpoints.delete(name);
      if (ep?.binding) await Promise.allSettled(this.releaseBinding(ep.binding));
    }
  }

  /** The model an endpoint's champion serves (metadata routes). */
  endpointModel(name: string): LoadedModel {
    const ep = this.endpoints.get(name);
    if (ep === undefined)
      throw new NotFoundError(
        `endpoint ${JSON.stringify(name)} does not exist (no configured endpoint, no model with a champion alias)`,
      );
    if (ep.binding === undefined)
      throw new UnavailableError(`endpoint ${JSON.stringify(name)} is not ready: its model is loading`);
    return ep.binding.champion;
  }

  hasEndpoint(name: string): boolean {
    return this.endpoints.has(name);
  }

  decision(endpoint: string, score: number): string {
    return decisionOf(this.endpoints.get(endpoint)?.config, score);
  }

  /** A specific registered version, loaded on first use and kept. */
  async versionModel(name: string, version: string): Promise<LoadedModel> {
    const key = `${name}\u0000${version}`;
    let p = this.direct.get(key);
    if (p === undefined) {
      p = this.pool.acquire(name, version);
      this.direct.set(key, p);
      p.catch(() => this.direct.delete(key));
    }
    return p;
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
    const ep = this.endpoints.get(endpoint);
    if (ep === undefined)
      return Promise.reject(
        new NotFoundError(
          `endpoint ${JSON.stringify(endpoint)} does not exist (no configured endpoint, no model with a champion alias)`,
        ),
      );
    const binding = ep.binding;
    if (binding === undefined) {
      this.metrics.errors.inc({ endpoint, model_version: "", route: "", kind: "unavailable" });
      return Promise.reject(
        new UnavailableError(`endpoint ${JSON.stringify(endpoint)} is not ready: its model is loading`),
      );
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

  /** Score on one registered version directly (`/v2/models/{name}/versions/{v}`). */
  async predictVersion(
    name: string,
    version: string,
    table: InputTable,
    ctx: RequestContext,
  ): Promise<PredictionResult> {
    const model = await this.versionModel(name, version);
    const requestId = ctx.requestId ?? newRequestId();
    const time = this.clock.now();
    const started = performance.now();
    // Logged and validated under the model's endpoint policy (sampling, audit, input) when it has one.
    const config = this.endpoints.get(name)?.config ?? defaultEndpoint(name, this.defaults);
    const leave = model.enter();
    try {
      const frame = model.validatorFor(config.input)(table);
      const scores = await model.batcher.submit(frame);
      const latency = (performance.now() - started) / 1000;
      this.observe(name, version, "direct", ctx.protocol, scores, latency);
      const result: PredictionResult = {
        requestId,
        endpoint: name,
        modelName: name,
        modelVersion: version,
        route: "direct",
        scores,
        cachedRows: 0,
      };
      const records = this.sampledRecords(config, result, table, time, latency * 1000, ctx.entityId, false);
      if (records !== undefined) await this.appendLog(records, config.inferenceLog.audit === "sync", requestId);
      return result;
    } catch (e) {
      this.metrics.errors.inc({ endpoint: name, model_version: version, route: "direct", kind: errorKind(e) });
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
    const time = this.clock.now();
    const started = performance.now();
    const leave = model.enter();
    let frame;
    try {
      frame = model.validatorFor(ep.config.input)(table);
    } catch (e) {
      leave();
      this.metrics.errors.inc({ endpoint: name, model_version: model.version, route, kind: "invalid_input" });
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
        // A cache that cannot answer is a miss, never a failed request.
        const hits = await ep.cache.getMany(keys).catch((e: unknown) => {
          this.options.onError?.(`serving: cache lookup failed on endpoint ${name}`, e);
          return [] as (number | undefined)[];
        });
        for (let i = 0; i < frame.nRows; i++) if (hits[i] !== undefined) cachedRows++;
        if (cachedRows === frame.nRows) scores = Float64Array.from(hits as number[]);
        if (cachedRows > 0) this.metrics.cacheHits.inc({ endpoint: name }, cachedRows);
        if (cachedRows < frame.nRows) this.metrics.cacheMisses.inc({ endpoint: name }, frame.nRows - cachedRows);
        if (scores === undefined) cachedRows = 0;
      }
      if (scores === undefined) {
        try {
          scores = await withDeadline(model.batcher.submit(frame), ep.config.deadlineMs);
          if (route === "canary") ep.canaryRequests++;
          if (ep.cache && keys) {
            const s = scores;
            ep.cache
              .setMany(
                keys.map((key, i) => [key, s[i] as number] as const),
                ep.config.cache?.ttlMs,
              )
              .catch((e: unknown) => this.options.onError?.(`serving: cache write failed on endpoint ${name}`, e));
          }
        } catch (e) {
          if (route === "canary") {
            ep.canaryRequests++;
            ep.canaryErrors++;
          }
          failure = e instanceof DeadlineError ? "deadline" : "model_error";
          cause = e;
          this.metrics.errors.inc({ endpoint: name, model_version: model.version, route, kind: failure });
        }
      }
    } finally {
      leave();
    }

    let servedBy = model;
    let servedRoute = route;
    if (scores === undefined) {
      const fb = await this.fallback(ep, binding, table, frame.nRows, failure ?? "model_error", cause);
      scores = fb.scores;
      servedRoute = "fallback";
      if (fb.model) servedBy = fb.model;
    }
    const latency = (performance.now() - started) / 1000;
    this.observe(name, servedBy.version, servedRoute, ctx.protocol, scores, latency);
    const result: PredictionResult = {
      requestId,
      endpoint: name,
      modelName: servedBy.name,
      modelVersion: servedBy.version,
      route: servedRoute,
      scores,
      ...(failure ? { fallback: failure } : {}),
      cachedRows,
    };
    const shadows = binding.shadows;
    const sync = ep.config.inferenceLog.audit === "sync";
    const queued = shadows.length > 0 && this.shadowsAccepted(ep, shadows);
    // With shadows and an async log, the rows wait (in memory) for the shadows' answers.
    const records = this.sampledRecords(ep.config, result, table, time, latency * 1000, ctx.entityId, queued && !sync);
    if (records !== undefined && !(queued && !sync)) {
      const durable = this.appendLog(records, sync, requestId);
      if (durable !== undefined) await durable;
    }
    if (queued) {
      this.queueShadows({
        ep,
        shadows,
        table,
        frame,
        signatureKey: model.signatureKey,
        requestId,
        entityId: ctx.entityId,
        time,
        records: sync ? undefined : (records as HeldRecord[] | undefined),
      });
    }
    return result;
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
        this.metrics.fallbacks.inc({ endpoint: name, reason });
        return { scores, model: prev };
      } catch (e) {
        if (fb.score === undefined) throw failed(name, reason, e);
      } finally {
        leave();
      }
    }
    if (fb?.score !== undefined) {
      this.metrics.fallbacks.inc({ endpoint: name, reason });
      return { scores: new Float64Array(nRows).fill(fb.score) };
    }
    throw failed(name, reason, cause);
  }

  /** Whether shadow work can be queued now; when not, it is counted as dropped. */
  private shadowsAccepted(ep: EndpointRuntime, shadows: readonly LoadedModel[]): boolean {
    if (this.shadowQueue.length < this.shadowQueueLimit && !this.stopped) return true;
    for (const shadow of shadows)
      this.metrics.shadowRequests.inc({ endpoint: ep.config.name, model_version: shadow.version, outcome: "dropped" });
    return false;
  }

  /**
   * Shadow scoring, off the response's critical path: the work is queued (bounded) and run in a
   * later turn of the event loop, after the answer has been written. Each shadow model is held
   * from the moment the work is queued, so an alias move cannot close it in between.
   */
  private queueShadows(work: ShadowWork): void {
    for (const shadow of work.shadows) shadow.hold();
    this.shadowQueue.push(work);
    if (!this.shadowScheduled) {
      this.shadowScheduled = true;
      setImmediate(() => this.drainShadows());
    }
  }

  /**
   * Score everything queued, grouped by endpoint and shadow model: one frame and one model call
   * per group. Once every group has answered, the held records (now carrying the shadows'
   * answers) go to the log in one append.
   */
  private drainShadows(): void {
    this.shadowScheduled = false;
    const work = this.shadowQueue;
    if (work.length === 0) return;
    this.shadowQueue = [];
    const groups = new Map<string, { ep: EndpointRuntime; shadow: LoadedModel; items: ShadowWork[] }>();
    for (const w of work) {
      for (const shadow of w.shadows) {
        const key = `${w.ep.config.name}\u0000${shadow.name}\u0000${shadow.version}`;
        const g = groups.get(key);
        if (g === undefined) groups.set(key, { ep: w.ep, shadow, items: [w] });
        else g.items.push(w);
      }
    }
    const runs: Promise<unknown>[] = [];
    for (const g of groups.values()) runs.push(this.runShadows(g.ep, g.shadow, g.items));
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.shadowLogWaitMs ?? 5000);
      timer.unref();
    });
    const held = Promise.race([Promise.allSettled(runs), waited]).then(() => {
      clearTimeout(timer);
      const records: InferenceRecord[] = [];
      for (const w of work) if (w.records !== undefined) for (const r of w.records) records.push(r);
      if (records.length > 0) void this.appendLog(records, false, "");
    });
    this.shadowsRunning = Promise.all([this.shadowsRunning, held]).then(() => undefined);
  }

  private async runShadows(ep: EndpointRuntime, shadow: LoadedModel, items: readonly ShadowWork[]): Promise<void> {
    const name = ep.config.name;
    const outcome = (o: string) => ({ endpoint: name, model_version: shadow.version, outcome: o });
    const started = performance.now();
    try {
      const frames: Frame[] = [];
      const scored: ShadowWork[] = [];
      let rows = 0;
      for (const w of items) {
        try {
          const frame =
            w.signatureKey === shadow.signatureKey ? w.frame : shadow.validatorFor(ep.config.input)(w.table);
          frames.push(frame);
          scored.push(w);
          rows += frame.nRows;
        } catch (e) {
          this.metrics.shadowRequests.inc(outcome("error"));
          this.options.onError?.(`shadow ${shadow.name} v${shadow.version} refused an input on endpoint ${name}`, e);
        }
      }
      if (scored.length === 0) return;
      let scores: Float64Array;
      try {
        scores = await shadow.batcher.submit(frames.length === 1 ? (frames[0] as Frame) : concatFrames(frames, rows));
      } catch (e) {
        this.metrics.shadowRequests.inc(outcome("error"), scored.length);
        this.options.onError?.(`shadow ${shadow.name} v${shadow.version} failed on endpoint ${name}`, e);
        return;
      }
      this.metrics.shadowRequests.inc(outcome("ok"), scored.length);
      const latency = performance.now() - started;
      const standalone: InferenceRecord[] = [];
      let offset = 0;
      for (let k = 0; k < scored.length; k++) {
        const w = scored[k] as ShadowWork;
        const n = (frames[k] as Frame).nRows;
        if (w.records !== undefined) {
          for (let i = 0; i < n; i++) {
            const score = scores[offset + i] as number;
            (w.records[i] as HeldRecord).shadows.push({
              modelName: shadow.name,
              modelVersion: shadow.version,
              outputs: { score, decision: decisionOf(ep.config, score) },
              latencyMs: latency,
            });
          }
        } else if (ep.config.inferenceLog.audit === "sync") {
          const result: PredictionResult = {
            requestId: w.requestId,
            endpoint: name,
            modelName: shadow.name,
            modelVersion: shadow.version,
            route: "shadow",
            scores: scores.subarray(offset, offset + n),
            cachedRows: 0,
          };
          const rs = this.sampledRecords(ep.config, result, w.table, w.time, latency, w.entityId, false);
          if (rs !== undefined) for (const r of rs) standalone.push(r);
        }
        offset += n;
      }
      if (standalone.length > 0) void this.appendLog(standalone, false, "");
    } finally {
      for (let k = 0; k < items.length; k++) shadow.unhold();
    }
  }

  private observe(
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
      // Label lookups hash their arguments on every call; resolve each series once.
      const labels = { endpoint, model_version: version, route };
      series = {
        requests: this.metrics.requests.labels({ ...labels, protocol }),
        latency: this.metrics.latency.labels(labels),
        scores: this.metrics.scores.labels(labels),
      };
      this.series.set(key, series);
    }
    series.requests.inc();
    series.latency.observe(latencySeconds);
    for (let i = 0; i < scores.length; i++) series.scores.observe(scores[i] as number);
  }

  /**
   * The request's records, or undefined when there is no log or the request is sampled out (by a
   * hash of the request id, so a request and its shadow answers are kept or dropped together).
   * `holdForShadows`: each record gets an empty `shadows` list for its shadows to fill.
   */
  private sampledRecords(
    config: EndpointConfig,
    r: PredictionResult,
    table: InputTable,
    time: number,
    latencyMs: number,
    entityId: string | undefined,
    holdForShadows: boolean,
  ): InferenceRecord[] | undefined {
    if (this.options.inferenceLog === undefined) return undefined;
    const rate = config.inferenceLog.sampleRate;
    if (rate < 1 && !inPercent(r.requestId, rate * 100)) {
      this.metrics.inferenceLogRecords.inc({ outcome: "sampled_out" }, r.scores.length);
      return undefined;
    }
    return inferenceRecords(config, r, table, time, latencyMs, entityId, holdForShadows);
  }

  private appendLog(records: readonly InferenceRecord[], audit: boolean, requestId: string): Promise<void> | undefined {
    const sink = this.options.inferenceLog;
    if (sink === undefined) return undefined;
    const write = sink.append(records, { durability: audit ? "sync" : "async" }).then(
      () => void this.metrics.inferenceLogRecords.inc({ outcome: "written" }, records.length),
      (e: unknown) => {
        this.metrics.inferenceLogRecords.inc({ outcome: "failed" }, records.length);
        if (audit)
          throw new UnavailableError(`inference log: the audit record of request ${requestId} could not be written`, {
            cause: e,
          });
        this.options.onError?.("inference log append failed", e);
      },
    );
    if (audit) return write;
    this.pendingLogs.add(write);
    void write.finally(() => this.pendingLogs.delete(write));
    return undefined;
  }

  /** Re-read the registry: create/remove default endpoints, rebind moved aliases, step canaries. */
  sync(): Promise<void> {
    if (this.syncing) return this.syncing;
    this.syncing = this.doSync().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.loadStoredEndpoints();
      const champions = await this.championModels();
      for (const c of this.configured.values()) {
        if (!this.endpoints.has(c.name)) this.endpoints.set(c.name, new EndpointRuntime(c));
      }
      for (const model of champions) {
        if (!this.endpoints.has(model))
          this.endpoints.set(model, new EndpointRuntime(defaultEndpoint(model, this.defaults)));
      }
      for (const [name, ep] of this.endpoints) {
        if (!ep.config.configured && !champions.has(name)) {
          this.endpoints.delete(name);
          if (ep.binding) await Promise.allSettled(this.releaseBinding(ep.binding));
        }
      }
      await Promise.all([...this.endpoints.values()].map((ep) => this.refresh(ep, false)));
      await Promise.all([...this.endpoints.values()].map((ep) => this.stepCanary(ep)));
    } catch (e) {
      this.options.onError?.("serving: registry sync failed", e);
    } finally {
      this.synced = true;
    }
  }

  private async championModels(): Promise<Set<string>> {
    const out = new Set<string>();
    let pageToken: string | undefined;
    do {
      const page = await this.options.registry.searchRegisteredModels({
        maxResults: 1000,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const m of page.items) if (m.aliases.some((a) => a.alias === "champion")) out.add(m.name);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  private async resolve(ref: ResolvedRef): Promise<string> {
    if (ref.version !== undefined) return ref.version;
    return (await this.options.registry.getVersionByAlias(ref.model, ref.alias as string)).version;
  }

  private async refresh(ep: EndpointRuntime, throwOnError: boolean): Promise<void> {
    const c = ep.config;
    try {
      const champion = await this.resolve(c.champion);
      const challenger = c.challenger ? await this.resolve(c.challenger) : undefined;
      const canary = c.canary ? await this.resolve(c.canary) : undefined;
      const shadows = await Promise.all(c.shadows.map((s) => this.resolve(s)));
      let previous: string | undefined;
      if (c.fallback?.previousVersion && c.champion.alias !== undefined) {
        const history = await this.options.registry.aliasHistory(c.champion.model, c.champion.alias);
        previous = history.find((h) => h.version !== champion)?.version;
      }
      const key = JSON.stringify([c, champion, challenger, canary, shadows, previous]);
      if (ep.binding?.key === key) return;

      // Load and warm everything before the swap; on any failure keep serving the old binding.
      const acquired: LoadedModel[] = [];
      const take = async (model: string, version: string) => {
        const m = await this.pool.acquire(model, version);
        acquired.push(m);
        return m;
      };
      let next: Binding;
      try {
        next = {
          key,
          champion: await take(c.champion.model, champion),
          ...(challenger !== undefined && c.challenger
            ? { challenger: await take(c.challenger.model, challenger) }
            : {}),
          ...(canary !== undefined && c.canary ? { canary: await take(c.canary.model, canary) } : {}),
          shadows: await Promise.all(c.shadows.map((s, i) => take(s.model, shadows[i] as string))),
          ...(previous !== undefined ? { previous: await take(c.champion.model, previous) } : {}),
        };
      } catch (e) {
        await Promise.allSettled(acquired.map((m) => this.pool.release(m)));
        throw e;
      }
      if (ep.config !== c || this.stopped || this.endpoints.get(c.name) !== ep) {
        await Promise.allSettled(acquired.map((m) => this.pool.release(m)));
        return;
      }
      const old = ep.binding;
      if (old?.canary?.version !== next.canary?.version || ep.canary === undefined) {
        ep.canary = next.canary ? startCanary(this.clock.now()) : undefined;
        if (next.canary && c.canary)
          this.metrics.canaryTraffic.set(
            { endpoint: c.name, model_version: next.canary.version },
            canaryPercent(ep.canary as CanaryState, c.canary.schedule),
          );
        ep.canaryRequests = 0;
        ep.canaryErrors = 0;
      }
      if (c.cache && ep.cache === undefined) {
        ep.cache =
          this.options.cache ??
          new LruTtlCache({ maxEntries: c.cache.maxEntries, ttlMs: c.cache.ttlMs, now: () => this.clock.now() });
      }
      ep.binding = next;
      if (old) await Promise.allSettled(this.releaseBinding(old));
    } catch (e) {
      if (throwOnError)
        throw e instanceof KeelError
          ? e
          : new UnavailableError(`endpoint ${c.name}: model could not be loaded`, { cause: e });
      this.options.onError?.(`serving: endpoint ${c.name} could not be bound`, e);
    }
  }

  private async stepCanary(ep: EndpointRuntime): Promise<void> {
    const schedule = ep.config.canary?.schedule;
    if (ep.canary === undefined || schedule === undefined || ep.canary.status !== "running") return;
    const alertFiring = this.options.isAlertFiring ? await this.options.isAlertFiring(ep.config.name) : false;
    const next = advanceCanary(ep.canary, schedule, {
      now: this.clock.now(),
      alertFiring,
      requests: ep.canaryRequests,
      errors: ep.canaryErrors,
    });
    if (next !== ep.canary) this.setCanary(ep, next, alertFiring ? "alert" : "error_rate");
  }

  /**
   * Take an endpoint's running canary out of traffic now: its share drops to 0, its requests go
   * back to the champion (or challenger), `keel_serving_canary_rollbacks_total` counts it and the
   * inference log records the decision (route `canary_rollback`). Returns undefined when the
   * endpoint has no running canary.
   */
  rollbackCanary(endpoint: string, reason: string, trigger: "alert" | "manual" = "manual"): CanaryRollback | undefined {
    const ep = this.endpoints.get(endpoint);
    if (ep === undefined)
      throw new NotFoundError(
        `endpoint ${JSON.stringify(endpoint)} does not exist (no configured endpoint, no model with a champion alias)`,
      );
    const canary = ep.binding?.canary;
    if (ep.canary?.status !== "running" || canary === undefined) return undefined;
    this.setCanary(ep, { status: "rolled_back", at: this.clock.now(), reason }, trigger);
    return { endpoint, modelName: canary.name, modelVersion: canary.version, reason };
  }

  /**
   * The alert engine's entry point. An alert of a rollback tier (default retrain, page) rolls back
   * every running canary it concerns: on the alert's endpoint when it names one, else on every
   * endpoint serving its model; when the alert names a version, only a canary of that version.
   */
  handleAlert(alert: ServingAlert): CanaryRollback[] {
    const tiers = this.options.canaryRollbackTiers ?? ["retrain", "page"];
    if (!tiers.includes(alert.tier)) return [];
    const reason = `${alert.tier} alert${alert.rule !== undefined ? ` ${alert.rule}` : ""} on model ${alert.modelName}${
      alert.modelVersion !== undefined ? ` v${alert.modelVersion}` : ""
    }${alert.message !== undefined ? `: ${alert.message}` : ""}`;
    const out: CanaryRollback[] = [];
    for (const [name, ep] of this.endpoints) {
      const canary = ep.binding?.canary;
      if (canary === undefined || ep.canary?.status !== "running") continue;
      if (alert.endpoint !== undefined && alert.endpoint !== name) continue;
      if (alert.endpoint === undefined && ep.config.model !== alert.modelName && canary.name !== alert.modelName)
        continue;
      if (
        alert.modelVersion !== undefined &&
        (canary.name !== alert.modelName || canary.version !== alert.modelVersion)
      )
        continue;
      const r = this.rollbackCanary(name, reason, "alert");
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  private setCanary(ep: EndpointRuntime, next: CanaryState, trigger: "alert" | "error_rate" | "manual"): void {
    ep.canary = next;
    ep.canaryRequests = 0;
    ep.canaryErrors = 0;
    const canary = ep.binding?.canary;
    const schedule = ep.config.canary?.schedule;
    if (canary === undefined || schedule === undefined) return;
    const name = ep.config.name;
    this.metrics.canaryTraffic.set({ endpoint: name, model_version: canary.version }, canaryPercent(next, schedule));
    if (next.status !== "rolled_back") return;
    this.metrics.canaryRollbacks.inc({ endpoint: name, model_version: canary.version, trigger });
    const sink = this.options.inferenceLog;
    if (sink === undefined) return;
    const record: InferenceRecord = {
      requestId: `canary-rollback:${name}:${canary.version}:${next.at}`,
      time: next.at,
      endpoint: name,
      modelName: canary.name,
      modelVersion: canary.version,
      route: "canary_rollback",
      features: {},
      outputs: { trigger, reason: next.reason },
      latencyMs: 0,
    };
    const write = sink.append([record], { durability: "sync" }).catch((e: unknown) => {
      this.options.onError?.(`serving: the canary rollback on endpoint ${name} could not be logged`, e);
    });
    this.pendingLogs.add(write);
    void write.finally(() => this.pendingLogs.delete(write));
  }

  private releaseBinding(b: Binding): Promise<void>[] {
    const all = [b.champion, b.challenger, b.canary, b.previous, ...b.shadows].filter(
      (m): m is LoadedModel => m !== undefined,
    );
    return all.map((m) => this.pool.release(m));
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

function decisionOf(config: EndpointConfig | undefined, score: number): string {
  const d = config?.decision ?? { threshold: 0.5, positive: "positive", negative: "negative" };
  return score >= d.threshold ? d.positive : d.negative;
}

function inferenceRecords(
  config: EndpointConfig,
  r: PredictionResult,
  table: InputTable,
  time: number,
  latencyMs: number,
  entityId: string | undefined,
  holdForShadows: boolean,
): InferenceRecord[] {
  const names = [...table.columns.keys()];
  const entityColumn = config.entityKey !== undefined ? table.columns.get(config.entityKey) : undefined;
  const out: InferenceRecord[] = new Array<InferenceRecord>(r.scores.length);
  for (let i = 0; i < r.scores.length; i++) {
    const features: Record<string, string | number | boolean | null> = {};
    for (const n of names)
      features[n] = (table.columns.get(n) as ArrayLike<string | number | boolean | null | undefined>)[i] ?? null;
    const score = r.scores[i] as number;
    const rowEntity = entityColumn?.[i];
    const entity = rowEntity !== undefined && rowEntity !== null ? String(rowEntity) : entityId;
    out[i] = {
      requestId: r.scores.length === 1 ? r.requestId : `${r.requestId}#${i}`,
      time,
      endpoint: r.endpoint,
      modelName: r.modelName,
      modelVersion: r.modelVersion,
      route: r.route,
      ...(entity !== undefined ? { entityId: entity } : {}),
      features,
      outputs: { score, decision: decisionOf(config, score), ...(r.fallback ? { fallback: r.fallback } : {}) },
      latencyMs,
      ...(holdForShadows ? { shadows: [] } : {}),
    };
  }
  return out;
}
