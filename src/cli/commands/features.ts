import path from "node:path";
import type { Command } from "commander";
import { InvalidParameterError } from "../../errors.js";
import {
  createFeatureRegistry,
  describeFeatureObject,
  endpointSkew,
  featureObjects,
  getHistoricalFeatures,
  loadFeatureRepo,
  materialize,
  materializeIncremental,
  openOnlineStore,
  requestedFeatures,
  type MaterializeResult,
  type FeatureRef,
  type FeatureRegistry,
  type FeatureRepo,
  type OnlineStore,
} from "../../features/index.js";
import type { KeelConfig } from "../../config.js";
import { eventTime } from "../../monitoring/index.js";
import { configFor, group, print, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";
import { specError } from "../../spec-fields.js";

const LOCAL_ACTOR = "cli";

function parseShare(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= 1)) throw specError("--threshold", value, "must be a number from 0 to 1");
  return n;
}

/** The config of a feature command: they work on the local stores, so a server URL is refused, not ignored. */
function localConfig(cmd: Command, ctx: CliContext): KeelConfig {
  const config = configFor(cmd, ctx);
  if (config.trackingUri !== undefined) {
    throw specError(
      "--tracking-uri",
      config.trackingUri,
      "keel features works on the local store (--backend-store-uri, --data-dir); against a server use its /materialize and /get-online-features routes",
    );
  }
  return config;
}

/** Runs `fn` with the applied repository, the registry and the online store, closing what it opened. */
function withOnlineStore<T>(
  config: KeelConfig,
  fn: (repo: FeatureRepo, registry: FeatureRegistry, store: OnlineStore) => Promise<T>,
): Promise<T> {
  return withStores(config, async (s) => {
    const registry = createFeatureRegistry(s.metadata);
    const { repo } = await registry.current();
    const store = openOnlineStore({ redisUrl: config.redisUrl, dataDir: config.dataDir });
    try {
      return await fn(repo, registry, store);
    } finally {
      await store.close();
    }
  });
}

function views(list: string | undefined): string[] | undefined {
  return list === undefined ? undefined : list.split(",").map((x) => x.trim());
}

function renderMaterialized(done: readonly MaterializeResult[]): string {
  return done
    .map(
      (r) =>
        `${r.featureView}: ${r.rows} entities from ${new Date(r.start).toISOString()} to ${new Date(r.end).toISOString()}`,
    )
    .join("\n");
}

/** `--features a:b,c` or `--feature-service NAME`, exactly one. */
function flaggedFeatures(repo: FeatureRepo, flags: { features?: string; featureService?: string }): FeatureRef[] {
  return requestedFeatures(
    repo,
    { features: flags.features?.split(",").map((x) => x.trim()), featureService: flags.featureService },
    { features: "--features", featureService: "--feature-service" },
  );
}

/** `keel features apply|list|describe` (docs/features.md), against the local metadata store. */
export function featuresCommand(program: Command, ctx: CliContext): void {
  const features = group(program, "features", "feature store: definitions, training sets, online features");

  features
    .command("apply <file>")
    .description("validate a feature repository (YAML, JSON or TypeScript) and register it as a new version")
    .action(async (file: string, _flags: unknown, cmd: Command) => {
      const config = localConfig(cmd, ctx);
      const abs = path.resolve(ctx.cwd, file);
      const repo = await loadFeatureRepo(abs);
      const result = await withStores(config, (s) =>
        createFeatureRegistry(s.metadata).apply(repo, { sourceFile: abs, actor: LOCAL_ACTOR }),
      );
      const counts = `${repo.entities.length} entities, ${repo.sources.length} sources, ${repo.featureViews.length} feature views, ${repo.onDemandFeatureViews.length} on-demand feature views, ${repo.featureServices.length} feature services`;
      print(cmd, ctx, result, () =>
        result.changed
          ? `applied ${file} as feature repository version ${result.version} (${counts})`
          : `${file} is unchanged: feature repository version ${result.version}`,
      );
    });

  features
    .command("list")
    .description("entities, feature views, on-demand feature views and feature services of the applied repository")
    .action(async (_flags: unknown, cmd: Command) => {
      const config = localConfig(cmd, ctx);
      const applied = await withStores(config, (s) => createFeatureRegistry(s.metadata).current());
      const objects = featureObjects(applied.repo);
      print(cmd, ctx, { version: applied.version, objects }, () =>
        [
          `feature repository version ${applied.version} (applied ${new Date(applied.appliedAt).toISOString()} by ${applied.appliedBy})`,
          table(
            ["kind", "name", "summary"],
            objects.map((o) => [o.kind, o.name, o.summary]),
          ),
        ].join("\n"),
      );
    });

  features
    .command("historical")
    .description(
      "point-in-time correct training set: the entity dataframe joined to the features as of each row's time",
    )
    .requiredOption(
      "--entity-df <file>",
      "CSV or Parquet: join keys, event_timestamp, and any other columns (labels …)",
    )
    .option("--features <refs>", "comma-separated view:feature or view names")
    .option("--feature-service <name>", "a feature service instead of --features")
    .requiredOption("--output <file>", "training set to write, .parquet or .csv")
    .option("--full-feature-names", "name feature columns view__feature")
    .action(
      async (
        flags: {
          entityDf: string;
          features?: string;
          featureService?: string;
          output: string;
          fullFeatureNames?: boolean;
        },
        cmd: Command,
      ) => {
        const config = localConfig(cmd, ctx);
        const applied = await withStores(config, (s) => createFeatureRegistry(s.metadata).current());
        const result = await getHistoricalFeatures(applied.repo, {
          entityDf: path.resolve(ctx.cwd, flags.entityDf),
          features: flaggedFeatures(applied.repo, flags),
          fullFeatureNames: flags.fullFeatureNames === true,
          output: path.resolve(ctx.cwd, flags.output),
        });
        print(
          cmd,
          ctx,
          { ...result, output: flags.output, feature_repo_version: applied.version },
          () =>
            `wrote ${result.rows} rows × ${result.columns.length} columns to ${flags.output} (feature repository version ${applied.version})`,
        );
      },
    );
  featureStoreCommands(features, ctx);
}

/** `materialize`, `materialize-incremental`, `skew` and `describe`. */
function featureStoreCommands(features: Command, ctx: CliContext): void {
  features
    .command("materialize")
    .description("load the latest row per entity with event time in [--start, --end] into the online store")
    .requiredOption("--start <time>", "ISO-8601 or epoch ms", (v: string) => eventTime(v, "--start"))
    .requiredOption("--end <time>", "ISO-8601 or epoch ms", (v: string) => eventTime(v, "--end"))
    .option("--views <names>", "comma-separated feature views (default: all)")
    .action(async (flags: { start: number; end: number; views?: string }, cmd: Command) => {
      const config = localConfig(cmd, ctx);
      const featureViews = views(flags.views);
      const done = await withOnlineStore(config, (repo, registry, store) =>
        materialize(repo, registry, store, {
          start: flags.start,
          end: flags.end,
          ...(featureViews !== undefined ? { featureViews } : {}),
        }),
      );
      print(cmd, ctx, done, () => renderMaterialized(done));
    });

  features
    .command("materialize-incremental")
    .description("load each feature view from where its last materialization ended up to --end")
    .requiredOption("--end <time>", "ISO-8601 or epoch ms", (v: string) => eventTime(v, "--end"))
    .option("--views <names>", "comma-separated feature views (default: all)")
    .action(async (flags: { end: number; views?: string }, cmd: Command) => {
      const config = localConfig(cmd, ctx);
      const featureViews = views(flags.views);
      const done = await withOnlineStore(config, (repo, registry, store) =>
        materializeIncremental(repo, registry, store, {
          end: flags.end,
          ...(featureViews !== undefined ? { featureViews } : {}),
        }),
      );
      print(cmd, ctx, done, () => renderMaterialized(done));
    });

  features
    .command("skew")
    .description(
      "compare the features logged with an endpoint's predictions to the same features recomputed point-in-time",
    )
    .requiredOption("--endpoint <name>", "serving endpoint whose inference log is read")
    .requiredOption("--from <time>", "ISO-8601 or epoch ms (inclusive)", (v: string) => eventTime(v, "--from"))
    .requiredOption("--to <time>", "ISO-8601 or epoch ms (exclusive)", (v: string) => eventTime(v, "--to"))
    .option("--features <refs>", "comma-separated view:feature or view names")
    .option("--feature-service <name>", "a feature service instead of --features")
    .option("--threshold <share>", "share of differing rows that flags a feature (default 0.01)", parseShare)
    .action(
      async (
        flags: {
          endpoint: string;
          from: number;
          to: number;
          features?: string;
          featureService?: string;
          threshold?: number;
        },
        cmd: Command,
      ) => {
        const config = localConfig(cmd, ctx);
        const report = await withStores(config, async (s) => {
          const { repo } = await createFeatureRegistry(s.metadata).current();
          return endpointSkew(repo, s.inferenceLog, flags, {
            features: flaggedFeatures(repo, flags),
            ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
          });
        });
        print(cmd, ctx, report, () =>
          [
            `${flags.endpoint}: ${report.rows} logged predictions compared (${report.withoutEntity} without an entity id left out), threshold ${report.threshold}`,
            table(
              ["feature", "compared", "differing", "share", "max_abs_delta", "flag"],
              report.features.map((f) => [
                f.feature,
                String(f.compared),
                String(f.differing),
                f.shareDiffering.toFixed(4),
                f.maxAbsDelta === null ? "-" : f.maxAbsDelta.toPrecision(4),
                f.flagged ? "SKEW" : "",
              ]),
            ),
          ].join("\n"),
        );
      },
    );

  features
    .command("describe <name>")
    .description("one entity, source, feature view, on-demand feature view or feature service, as registered")
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const config = localConfig(cmd, ctx);
      const applied = await withStores(config, (s) => createFeatureRegistry(s.metadata).current());
      const found = describeFeatureObject(applied.repo, name);
      if (found === undefined) {
        throw new InvalidParameterError(
          `name ${JSON.stringify(name)}: must name an object of feature repository version ${applied.version} (see keel features list)`,
          { details: { field: "name", value: name, rule: "must name a registered feature object" } },
        );
      }
      print(cmd, ctx, found, () => JSON.stringify(found, null, 2));
    });
}
