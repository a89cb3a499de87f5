import { KeelClient } from "../client/index.js";
import type {
  ExperimentJson,
  ModelVersionJson,
  RegisteredModelJson,
  RunJson,
  SearchRequest,
  SearchRunsRequest,
} from "../client/index.js";
import type { KeelConfig } from "../config.js";
import { NotFoundError } from "../errors.js";
import { experimentJson, modelVersionJson, registeredModelJson, runJson } from "../server/index.js";
import type { ViewType } from "../wire/index.js";
import type { SearchQuery } from "../registry/index.js";
import { withStores } from "./stores.js";

/**
 * What the read commands need, answered either by the local store or by a running server
 * (`--tracking-uri`). Both answer in MLflow's JSON shapes, so `--json` output is the same.
 */
export interface Source {
  searchExperiments(
    request: SearchRequest & { view_type?: ViewType | undefined },
  ): Promise<{ experiments: ExperimentJson[]; next_page_token?: string | undefined }>;
  /** By id, or by name when no experiment has that id. */
  getExperiment(idOrName: string): Promise<ExperimentJson>;
  createExperiment(name: string, artifactLocation?: string): Promise<string>;
  searchRuns(request: SearchRunsRequest): Promise<{ runs: RunJson[]; next_page_token?: string | undefined }>;
  getRun(runId: string): Promise<RunJson>;
  searchModels(
    request: SearchRequest,
  ): Promise<{ registered_models: RegisteredModelJson[]; next_page_token?: string | undefined }>;
  getModel(name: string): Promise<RegisteredModelJson>;
  searchVersions(
    request: SearchRequest,
  ): Promise<{ model_versions: ModelVersionJson[]; next_page_token?: string | undefined }>;
}

/** A registry search as the store takes it; empty filter and page token mean none. */
function registrySearch(r: SearchRequest): SearchQuery {
  return { filter: opt(r.filter), maxResults: r.max_results, orderBy: r.order_by ?? [], pageToken: opt(r.page_token) };
}

/** Experiment ids are digits; anything else can only be a name. */
const looksLikeId = (s: string) => /^\d+$/.test(s);

function remoteSource(client: KeelClient): Source {
  return {
    async searchExperiments(request) {
      const r = await client.searchExperiments(request);
      return { experiments: r.experiments ?? [], next_page_token: r.next_page_token };
    },
    async getExperiment(idOrName) {
      if (!looksLikeId(idOrName)) return client.getExperimentByName(idOrName);
      try {
        return await client.getExperiment(idOrName);
      } catch (e) {
        if (e instanceof NotFoundError) return client.getExperimentByName(idOrName);
        throw e;
      }
    },
    createExperiment: (name, artifactLocation) =>
      client.createExperiment(name, artifactLocation === undefined ? {} : { artifact_location: artifactLocation }),
    async searchRuns(request) {
      const r = await client.searchRuns(request);
      return { runs: r.runs ?? [], next_page_token: r.next_page_token };
    },
    getRun: (runId) => client.getRun(runId),
    async searchModels(request) {
      const r = await client.searchRegisteredModels(request);
      return { registered_models: r.registered_models ?? [], next_page_token: r.next_page_token };
    },
    getModel: (name) => client.getRegisteredModel(name),
    async searchVersions(request) {
      const r = await client.searchModelVersions(request);
      return { model_versions: r.model_versions ?? [], next_page_token: r.next_page_token };
    },
  };
}

function opt<T>(value: T | undefined | "") {
  return value === undefined || value === "" ? undefined : value;
}

/** Runs `fn` against the server at `config.trackingUri` if set, else against the local store. */
export async function withSource<T>(config: KeelConfig, fn: (source: Source) => Promise<T>): Promise<T> {
  if (config.trackingUri !== undefined) {
    const client = new KeelClient({
      baseUrl: config.trackingUri,
      ...(config.token === undefined ? {} : { token: config.token }),
    });
    return fn(remoteSource(client));
  }
  // The server's own mapping, so local and remote answers are byte-for-byte the same shape.
  return withStores(config, async ({ tracking, registry }) =>
    fn({
      async searchExperiments(r) {
        const page = await tracking.searchExperiments({
          filter: opt(r.filter),
          viewType: r.view_type,
          maxResults: r.max_results,
          orderBy: r.order_by ?? [],
          pageToken: opt(r.page_token),
        });
        return { experiments: page.items.map(experimentJson), next_page_token: page.nextPageToken };
      },
      async getExperiment(idOrName) {
        if (!looksLikeId(idOrName)) return experimentJson(await tracking.getExperimentByName(idOrName));
        try {
          return experimentJson(await tracking.getExperiment(idOrName));
        } catch (e) {
          if (e instanceof NotFoundError) return experimentJson(await tracking.getExperimentByName(idOrName));
          throw e;
        }
      },
      createExperiment: (name, artifactLocation) =>
        tracking.createExperiment(name, artifactLocation, [], { userId: "cli" }),
      async searchRuns(r) {
        const page = await tracking.searchRuns({
          experimentIds: r.experiment_ids,
          filter: opt(r.filter),
          runViewType: r.run_view_type,
          maxResults: r.max_results,
          orderBy: r.order_by ?? [],
          pageToken: opt(r.page_token),
        });
        return { runs: page.items.map(runJson), next_page_token: page.nextPageToken };
      },
      getRun: async (runId) => runJson(await tracking.getRun(runId)),
      async searchModels(r) {
        const page = await registry.searchRegisteredModels(registrySearch(r));
        return { registered_models: page.items.map(registeredModelJson), next_page_token: page.nextPageToken };
      },
      getModel: async (name) => registeredModelJson(await registry.getRegisteredModel(name)),
      async searchVersions(r) {
        const page = await registry.searchModelVersions(registrySearch(r));
        return { model_versions: page.items.map(modelVersionJson), next_page_token: page.nextPageToken };
      },
    }),
  );
}
