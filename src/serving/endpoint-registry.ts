import { NotFoundError } from "../errors.js";
import type { Logger } from "../runtime/index.js";
import type { EndpointStore } from "../store/index.js";
import type { PredictionCache } from "./cache.js";
import { defaultEndpoint, parseEndpointConfig, type EndpointConfig, type EndpointDefaults } from "./endpoint-config.js";
import type { LoadedModel } from "./model-pool.js";
import type { CanaryState } from "./router.js";

/** The models an endpoint serves, swapped as a whole when an alias moves. */
export interface Binding {
  readonly key: string;
  readonly champion: LoadedModel;
  readonly challenger?: LoadedModel;
  readonly canary?: LoadedModel;
  readonly shadows: readonly LoadedModel[];
  readonly previous?: LoadedModel;
}

/** Why an endpoint's models could not be loaded, and when loading is tried again. */
export interface LoadFailure {
  /** The versions the failed attempt resolved to: a move of an alias retries at once. */
  readonly key: string | undefined;
  /** The load error's message (a checksum mismatch, an unservable flavor, a missing file …). */
  readonly reason: string;
  readonly attempts: number;
  /** Epoch ms of the failure and of the next attempt. */
  readonly failedAt: number;
  readonly retryAt: number;
}

/** One endpoint's live state: its policy, its bound models, its canary and its cache. */
export class EndpointRuntime {
  binding: Binding | undefined;
  /** Set while the endpoint's models fail to load; cleared by a successful bind. */
  loadFailure: LoadFailure | undefined;
  canary: CanaryState | undefined;
  canaryRequests = 0;
  canaryErrors = 0;
  /** Set when the endpoint's policy was replaced: its canary starts over instead of resuming a stored one. */
  canaryStartsOver = false;
  cache: PredictionCache | undefined;
  constructor(public config: EndpointConfig) {}
}

export interface EndpointSummary {
  name: string;
  model: string;
  configured: boolean;
  /** The server is not ready until a required endpoint is. */
  required: boolean;
  ready: boolean;
  /** Why the endpoint's models failed to load (while they do), and the next attempt. */
  loadError?: { reason: string; attempts: number; retryAt: string };
  versions: Record<string, string>;
  canary?: CanaryState;
  /** The challenger's share of traffic (percent), when there is one. */
  challengerPercent?: number;
  /** The canary's steps (percent) and how long each lasts, when there is a canary. */
  canarySchedule?: { readonly steps: readonly number[]; readonly stepMs: number };
}

/** Every model in a binding, for releasing it. */
export function bindingModels(b: Binding): LoadedModel[] {
  return [b.champion, b.challenger, b.canary, b.previous, ...b.shadows].filter(
    (m): m is LoadedModel => m !== undefined,
  );
}

export function missingEndpoint(name: string): NotFoundError {
  return new NotFoundError(
    `endpoint ${JSON.stringify(name)} does not exist (no configured endpoint, no model with a champion alias)`,
  );
}

/**
 * The endpoints a server serves, by name: configured ones (from the serving file, the API or the
 * endpoint store, the stored one winning) and one default endpoint per model with a champion.
 */
export class EndpointRegistry {
  readonly endpoints = new Map<string, EndpointRuntime>();
  readonly configured = new Map<string, EndpointConfig>();
  /** Endpoints of the serving file, restored when a stored endpoint of the same name is deleted. */
  private readonly fileEndpoints = new Map<string, EndpointConfig>();
  /** Stored endpoint documents (JSON) this server has applied, by name. */
  private readonly storedDocuments = new Map<string, string>();

  constructor(
    fileEndpoints: readonly EndpointConfig[],
    readonly defaults: EndpointDefaults,
    readonly store: EndpointStore | undefined,
    private readonly logger: Logger,
  ) {
    for (const e of fileEndpoints) {
      this.configured.set(e.name, e);
      this.fileEndpoints.set(e.name, e);
    }
  }

  get(name: string): EndpointRuntime | undefined {
    return this.endpoints.get(name);
  }

  /** The endpoint, or a NotFoundError naming it. */
  require(name: string): EndpointRuntime {
    const ep = this.endpoints.get(name);
    if (ep === undefined) throw missingEndpoint(name);
    return ep;
  }

  /** The endpoint's policy, or a default one for a model served without an endpoint. */
  configFor(name: string): EndpointConfig {
    return this.endpoints.get(name)?.config ?? defaultEndpoint(name, this.defaults);
  }

  list(): EndpointSummary[] {
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
        required: ep.config.required,
        ready: b !== undefined,
        ...(ep.loadFailure === undefined
          ? {}
          : {
              loadError: {
                reason: ep.loadFailure.reason,
                attempts: ep.loadFailure.attempts,
                retryAt: new Date(ep.loadFailure.retryAt).toISOString(),
              },
            }),
        versions,
        ...(ep.canary ? { canary: ep.canary } : {}),
        ...(ep.config.challenger ? { challengerPercent: ep.config.challenger.percent } : {}),
        ...(ep.config.canary
          ? { canarySchedule: { steps: ep.config.canary.schedule.steps, stepMs: ep.config.canary.schedule.stepMs } }
          : {}),
      };
    });
  }

  /** Add or replace a configured endpoint; a replaced one's canary starts over. */
  apply(config: EndpointConfig): EndpointRuntime {
    this.configured.set(config.name, config);
    let ep = this.endpoints.get(config.name);
    if (ep) {
      ep.config = config;
      ep.canary = undefined;
      ep.canaryStartsOver = true;
    } else {
      ep = new EndpointRuntime(config);
      this.endpoints.set(config.name, ep);
    }
    return ep;
  }

  /** Forget a configured endpoint; returns its runtime, whose binding the caller releases. */
  remove(name: string): EndpointRuntime | undefined {
    this.configured.delete(name);
    const ep = this.endpoints.get(name);
    this.endpoints.delete(name);
    return ep;
  }

  fileEndpoint(name: string): EndpointConfig | undefined {
    return this.fileEndpoints.get(name);
  }

  isStored(name: string): boolean {
    return this.storedDocuments.has(name);
  }

  markStored(name: string, document: unknown): void {
    this.storedDocuments.set(name, JSON.stringify(document));
  }

  forgetStored(name: string): void {
    this.storedDocuments.delete(name);
  }

  /**
   * Apply the endpoint store's documents: new and changed ones applied, deleted ones removed (a
   * file endpoint of the same name comes back). Returns the removed runtimes.
   */
  async loadStored(): Promise<EndpointRuntime[]> {
    const removed: EndpointRuntime[] = [];
    if (this.store === undefined) return removed;
    const rows = await this.store.list();
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.name);
      const json = JSON.stringify(row.document);
      if (this.storedDocuments.get(row.name) === json) continue;
      this.storedDocuments.set(row.name, json);
      try {
        this.apply(parseEndpointConfig(row.document, this.defaults, `stored endpoint ${row.name}`));
      } catch (e) {
        this.logger.error({ err: e }, `serving: stored endpoint ${row.name} is not a valid endpoint`);
      }
    }
    for (const name of [...this.storedDocuments.keys()]) {
      if (seen.has(name)) continue;
      this.storedDocuments.delete(name);
      const file = this.fileEndpoints.get(name);
      if (file !== undefined) {
        this.apply(file);
        continue;
      }
      const ep = this.remove(name);
      if (ep !== undefined) removed.push(ep);
    }
    return removed;
  }

  /**
   * Match the endpoints to the configuration and the models with a champion: missing ones
   * created, default endpoints of models that lost their champion removed (and returned).
   */
  reconcile(champions: ReadonlySet<string>): EndpointRuntime[] {
    for (const c of this.configured.values()) {
      if (!this.endpoints.has(c.name)) this.endpoints.set(c.name, new EndpointRuntime(c));
    }
    for (const model of champions) {
      if (!this.endpoints.has(model))
        this.endpoints.set(model, new EndpointRuntime(defaultEndpoint(model, this.defaults)));
    }
    const removed: EndpointRuntime[] = [];
    for (const [name, ep] of this.endpoints) {
      if (!ep.config.configured && !champions.has(name)) {
        this.endpoints.delete(name);
        removed.push(ep);
      }
    }
    return removed;
  }
}
