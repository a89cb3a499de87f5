import { KeelError, UnavailableError } from "../errors.js";
import type { RegistryStore } from "../registry/index.js";
import type { Clock, Logger } from "../runtime/index.js";
import { LruTtlCache, type PredictionCache } from "./cache.js";
import type { EndpointConfig, ResolvedRef } from "./endpoint-config.js";
import { bindingModels, type Binding, type EndpointRegistry, type EndpointRuntime } from "./endpoint-registry.js";
import type { ServingMetrics } from "./metrics.js";
import type { LoadedModel, ModelPool } from "./model-pool.js";
import { checkReviewRules } from "./review-rules.js";
import type { RolloutController } from "./rollout-controller.js";

export type ServingRegistry = Pick<
  RegistryStore,
  | "searchRegisteredModels"
  | "getRegisteredModel"
  | "getModelVersion"
  | "getVersionByAlias"
  | "aliasHistory"
  | "searchModelVersions"
>;

/** First retry of a model that failed to load after 1 s, doubling up to 5 minutes. */
const LOAD_RETRY_BASE_MS = 1000;
const LOAD_RETRY_MAX_MS = 300_000;

export interface AliasFollowerDeps {
  readonly registry: ServingRegistry;
  readonly pool: ModelPool;
  readonly endpoints: EndpointRegistry;
  readonly rollout: RolloutController;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Shared cache backend for endpoints that enable caching; otherwise an in-process LRU each. */
  readonly cache: PredictionCache | undefined;
  /** Change notifications from other replicas (see ModelServerOptions.watchChanges). */
  readonly watchChanges?: WatchChanges | undefined;
  /** Counts failed loads per endpoint. */
  readonly metrics?: Pick<ServingMetrics, "modelLoadFailures">;
}

/** Subscribes to "something serving follows changed"; the returned `stop` ends the subscription. */
export type WatchChanges = (onChange: () => void) => { stop(): Promise<void> };

/**
 * Keeps every endpoint bound to the versions its aliases point at, re-reading the registry on each
 * change notification (when the database sends them) and on a poll that catches anything missed. A move
 * loads and warms the new version first, swaps the endpoint's binding in one assignment, then
 * drains and closes the old version — so requests in flight finish on the model they started with.
 */
export class AliasFollower {
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private stopped = false;
  /** A change arrived during a sync: sync once more when it ends. */
  private again = false;
  private watch: { stop(): Promise<void> } | undefined;
  /** True once the first sync has finished. */
  synced = false;

  constructor(private readonly deps: AliasFollowerDeps) {}

  /** First sync (loads every served model), then follow notifications and poll. */
  async start(pollIntervalMs: number): Promise<void> {
    await this.sync();
    this.watch = this.deps.watchChanges?.(() => this.changed());
    this.timer = setInterval(() => void this.sync(), pollIntervalMs);
    this.timer.unref();
  }

  /** Stop polling and wait for a sync in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.watch?.stop();
    await this.syncing;
  }

  /** Another replica changed something: sync now, or right after the sync in flight (it may have read too early). */
  changed(): void {
    if (this.syncing) this.again = true;
    else void this.sync();
  }

  /** Re-read the registry: create/remove default endpoints, rebind moved aliases, step canaries. */
  sync(): Promise<void> {
    if (this.syncing) return this.syncing;
    this.syncing = this.doSync().finally(() => {
      this.syncing = undefined;
      if (!this.again || this.stopped) return;
      this.again = false;
      void this.sync();
    });
    return this.syncing;
  }

  releaseBinding(b: Binding): Promise<void>[] {
    return bindingModels(b).map((m) => this.deps.pool.release(m));
  }

  /** Release the binding of endpoints that were removed. */
  async release(removed: readonly EndpointRuntime[]): Promise<void> {
    for (const ep of removed) if (ep.binding) await Promise.allSettled(this.releaseBinding(ep.binding));
  }

  private async doSync(): Promise<void> {
    if (this.stopped) return;
    const { endpoints, rollout } = this.deps;
    try {
      await this.release(await endpoints.loadStored());
      const champions = await this.championModels();
      await this.release(endpoints.reconcile(champions));
      await Promise.all([...endpoints.endpoints.values()].map((ep) => this.refresh(ep, false)));
      // Canary state lives in the store: every replica takes up the latest decision, one decides.
      await Promise.all([...endpoints.endpoints.values()].map((ep) => rollout.adopt(ep)));
      // The lease is asked for only while a canary runs: no database write per sync otherwise.
      const running = [...endpoints.endpoints.values()].some((ep) => ep.canary?.status === "running");
      const deciding = running && (await rollout.decides());
      const finished = deciding
        ? await Promise.all([...endpoints.endpoints.values()].map((ep) => rollout.step(ep)))
        : [];
      // A finished canary moved the champion alias: follow it now rather than on the next poll.
      if (finished.includes(true))
        await Promise.all([...endpoints.endpoints.values()].map((ep) => this.refresh(ep, false)));
    } catch (e) {
      this.deps.logger.error({ err: e }, "serving: registry sync failed");
    } finally {
      this.synced = true;
    }
  }

  private async championModels(): Promise<Set<string>> {
    const out = new Set<string>();
    let pageToken: string | undefined;
    do {
      const page = await this.deps.registry.searchRegisteredModels({
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
    return (await this.deps.registry.getVersionByAlias(ref.model, ref.alias as string)).version;
  }

  /**
   * Bind the endpoint to the versions its policy resolves to now, unless it already is. On any
   * failure the old binding keeps serving; with `throwOnError` the failure is thrown, else logged.
   */
  async refresh(ep: EndpointRuntime, throwOnError: boolean): Promise<void> {
    const c = ep.config;
    let key: string | undefined;
    try {
      const versions = await this.resolveVersions(c);
      key = versions.key;
      if (ep.binding?.key === versions.key) return;
      const failed = ep.loadFailure;
      // A version that failed to load is tried again after its backoff, or at once when an alias moved.
      if (!throwOnError && failed?.key === versions.key && this.deps.clock() < failed.retryAt) return;
      const next = await this.load(c, versions);
      if (c.review !== undefined) {
        // A rule naming a column the champion does not take would silently never match: refuse the binding.
        try {
          checkReviewRules(c.review, next.champion.signature, "endpoint.review");
        } catch (e) {
          await Promise.allSettled(this.releaseBinding(next));
          throw e;
        }
      }
      if (ep.config !== c || this.stopped || this.deps.endpoints.get(c.name) !== ep) {
        await Promise.allSettled(this.releaseBinding(next));
        return;
      }
      const old = ep.binding;
      await this.deps.rollout.rebind(ep, old, next);
      if (c.cache && ep.cache === undefined) {
        ep.cache =
          this.deps.cache ??
          new LruTtlCache({ maxEntries: c.cache.maxEntries, ttlMs: c.cache.ttlMs, now: this.deps.clock });
      }
      ep.binding = next;
      ep.loadFailure = undefined;
      if (old) await Promise.allSettled(this.releaseBinding(old));
    } catch (e) {
      this.recordFailure(ep, key, e);
      if (throwOnError)
        throw e instanceof KeelError
          ? e
          : new UnavailableError(`endpoint ${c.name}: model could not be loaded`, { cause: e });
      this.deps.logger.error({ err: e }, `serving: endpoint ${c.name} could not be bound`);
    }
  }

  /** Keep the load error on the endpoint and schedule the next attempt (doubling, at most 5 minutes). */
  private recordFailure(ep: EndpointRuntime, key: string | undefined, e: unknown): void {
    const attempts = ep.loadFailure?.key === key ? (ep.loadFailure?.attempts ?? 0) + 1 : 1;
    const now = this.deps.clock();
    const delay = Math.min(LOAD_RETRY_MAX_MS, LOAD_RETRY_BASE_MS * 2 ** (attempts - 1));
    const reason = e instanceof Error ? e.message : String(e);
    ep.loadFailure = { key, reason, attempts, failedAt: now, retryAt: now + delay };
    this.deps.metrics?.modelLoadFailures.inc({ endpoint: ep.config.name });
  }

  /** The version each of the endpoint's references points at now, and a key of them all. */
  private async resolveVersions(c: EndpointConfig): Promise<ResolvedVersions> {
    const champion = await this.resolve(c.champion);
    const challenger = c.challenger ? await this.resolve(c.challenger) : undefined;
    const canary = c.canary ? await this.resolve(c.canary) : undefined;
    const shadows = await Promise.all(c.shadows.map((s) => this.resolve(s)));
    let previous: string | undefined;
    if (c.fallback?.previousVersion && c.champion.alias !== undefined) {
      const history = await this.deps.registry.aliasHistory(c.champion.model, c.champion.alias);
      previous = history.find((h) => h.version !== champion)?.version;
    }
    const key = JSON.stringify([c, champion, challenger, canary, shadows, previous]);
    return { key, champion, challenger, canary, shadows, previous };
  }

  /** Load and warm every model of the binding; on a failure release what was loaded. */
  private async load(c: EndpointConfig, v: ResolvedVersions): Promise<Binding> {
    const acquired: LoadedModel[] = [];
    const take = async (model: string, version: string) => {
      const m = await this.deps.pool.acquire(model, version);
      acquired.push(m);
      return m;
    };
    try {
      return {
        key: v.key,
        champion: await take(c.champion.model, v.champion),
        ...(v.challenger !== undefined && c.challenger
          ? { challenger: await take(c.challenger.model, v.challenger) }
          : {}),
        ...(v.canary !== undefined && c.canary ? { canary: await take(c.canary.model, v.canary) } : {}),
        shadows: await Promise.all(c.shadows.map((s, i) => take(s.model, v.shadows[i] as string))),
        ...(v.previous !== undefined ? { previous: await take(c.champion.model, v.previous) } : {}),
      };
    } catch (e) {
      await Promise.allSettled(acquired.map((m) => this.deps.pool.release(m)));
      throw e;
    }
  }
}

interface ResolvedVersions {
  readonly key: string;
  readonly champion: string;
  readonly challenger: string | undefined;
  readonly canary: string | undefined;
  readonly shadows: readonly string[];
  readonly previous: string | undefined;
}
