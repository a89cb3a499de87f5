import path from "node:path";
import type { Command } from "commander";
import { InvalidParameterError } from "../../errors.js";
import {
  createFeatureRegistry,
  describeFeatureObject,
  featureObjects,
  featureService,
  getHistoricalFeatures,
  loadFeatureRepo,
  resolveFeatureRefs,
  type FeatureRef,
  type FeatureRepo,
} from "../../features/index.js";
import { configFor, group, print, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

const LOCAL_ACTOR = "cli";

function usage(field: string, value: unknown, rule: string): InvalidParameterError {
  return new InvalidParameterError(`${field} = ${JSON.stringify(value)}: ${rule}`, { details: { field, value, rule } });
}

/** `--features a:b,c` or `--feature-service NAME`, exactly one. */
export function requestedFeatures(
  repo: FeatureRepo,
  flags: { features?: string; featureService?: string },
): FeatureRef[] {
  if ((flags.features === undefined) === (flags.featureService === undefined)) {
    throw usage("--features", flags.features ?? null, "give exactly one of --features or --feature-service");
  }
  if (flags.featureService !== undefined) {
    return [...featureService(repo, flags.featureService, "--feature-service").features];
  }
  const refs = (flags.features as string).split(",").map((x) => x.trim());
  return resolveFeatureRefs(repo, refs, "--features");
}

/** `keel features apply|list|describe` (docs/features.md), against the local metadata store. */
export function featuresCommand(program: Command, ctx: CliContext): void {
  const features = group(program, "features", "feature store: definitions, training sets, online features");

  features
    .command("apply <file>")
    .description("validate a feature repository (YAML, JSON or TypeScript) and register it as a new version")
    .action(async (file: string, _flags: unknown, cmd: Command) => {
      const config = configFor(cmd, ctx);
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
      const config = configFor(cmd, ctx);
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
    .description("point-in-time correct training set: the entity dataframe joined to the features as of each row's time")
    .requiredOption("--entity-df <file>", "CSV or Parquet: join keys, event_timestamp, and any other columns (labels …)")
    .option("--features <refs>", "comma-separated view:feature or view names")
    .option("--feature-service <name>", "a feature service instead of --features")
    .requiredOption("--output <file>", "training set to write, .parquet or .csv")
    .option("--full-feature-names", "name feature columns view__feature")
    .action(
      async (
        flags: { entityDf: string; features?: string; featureService?: string; output: string; fullFeatureNames?: boolean },
        cmd: Command,
      ) => {
        const config = configFor(cmd, ctx);
        const applied = await withStores(config, (s) => createFeatureRegistry(s.metadata).current());
        const result = await getHistoricalFeatures(applied.repo, {
          entityDf: path.resolve(ctx.cwd, flags.entityDf),
          features: requestedFeatures(applied.repo, flags),
          fullFeatureNames: flags.fullFeatureNames === true,
          output: path.resolve(ctx.cwd, flags.output),
        });
        print(cmd, ctx, { ...result, output: flags.output, feature_repo_version: applied.version }, () =>
          `wrote ${result.rows} rows × ${result.columns.length} columns to ${flags.output} (feature repository version ${applied.version})`,
        );
      },
    );

  features
    .command("describe <name>")
    .description("one entity, source, feature view, on-demand feature view or feature service, as registered")
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const config = configFor(cmd, ctx);
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
