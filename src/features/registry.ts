/**
 * The feature registry: applied feature repositories, versioned in the metadata store (SQLite or
 * PostgreSQL) with an audit record, and the materialization windows already loaded online.
 */
import type { Clock } from "../runtime/index.js";
import type { Kysely } from "kysely";
import { randomUUID } from "node:crypto";
import { NotFoundError } from "../errors.js";
import { appendAudit, type FeatureRepoVersionsTable, type KeelDatabase, type MetadataDb } from "../store/index.js";
import { repoDigest, type FeatureRepo } from "./definition.js";

export interface AppliedFeatureRepo {
  readonly version: number;
  readonly digest: string;
  readonly sourceFile: string;
  readonly appliedAt: number;
  readonly appliedBy: string;
  readonly repo: FeatureRepo;
}

export interface ApplyResult {
  readonly version: number;
  readonly digest: string;
  /** False when the repository equals the latest version (nothing recorded). */
  readonly changed: boolean;
}

export interface MaterializationRecord {
  readonly featureView: string;
  readonly start: number;
  readonly end: number;
  readonly rows: number;
}

export interface FeatureRegistry {
  apply(repo: FeatureRepo, options: { sourceFile: string; actor: string }): Promise<ApplyResult>;
  /** The latest applied repository, or undefined when none was applied. */
  latest(): Promise<AppliedFeatureRepo | undefined>;
  /** The latest applied repository; NotFoundError when none was applied. */
  current(): Promise<AppliedFeatureRepo>;
  recordMaterialization(record: MaterializationRecord): Promise<void>;
  /** End (epoch ms) of the latest materialization of `featureView`, if any. */
  materializedUntil(featureView: string): Promise<number | undefined>;
}

function toApplied(r: FeatureRepoVersionsTable): AppliedFeatureRepo {
  return {
    version: Number(r.version),
    digest: r.digest,
    sourceFile: r.source_file,
    appliedAt: Number(r.applied_at),
    appliedBy: r.applied_by,
    repo: JSON.parse(r.definition) as FeatureRepo,
  };
}

function summary(repo: FeatureRepo): Record<string, readonly string[]> {
  return {
    entities: repo.entities.map((x) => x.name),
    feature_views: repo.featureViews.map((x) => x.name),
    on_demand_feature_views: repo.onDemandFeatureViews.map((x) => x.name),
    feature_services: repo.featureServices.map((x) => x.name),
  };
}

export function createFeatureRegistry(metadata: MetadataDb, options: { clock?: Clock } = {}): FeatureRegistry {
  const clock = options.clock ?? Date.now;
  const latestRow = (q: Kysely<KeelDatabase>) =>
    q.selectFrom("feature_repo_versions").selectAll().orderBy("version", "desc").limit(1).executeTakeFirst();

  const registry: FeatureRegistry = {
    async apply(repo, { sourceFile, actor }) {
      const digest = repoDigest(repo);
      return metadata.transaction(async (tx) => {
        const prev = await latestRow(tx);
        if (prev !== undefined && prev.digest === digest) {
          return { version: Number(prev.version), digest, changed: false };
        }
        const version = prev === undefined ? 1 : Number(prev.version) + 1;
        const now = clock();
        await tx
          .insertInto("feature_repo_versions")
          .values({
            version,
            digest,
            definition: JSON.stringify(repo),
            source_file: sourceFile,
            applied_at: now,
            applied_by: actor,
          })
          .execute();
        await appendAudit(
          tx,
          {
            actor,
            action: "feature_repo.apply",
            targetType: "feature_repo",
            targetId: String(version),
            ...(prev !== undefined ? { before: { version: Number(prev.version), digest: prev.digest } } : {}),
            after: { version, digest, source_file: sourceFile, ...summary(repo) },
          },
          now,
          metadata.chainKeyring?.current,
        );
        return { version, digest, changed: true };
      });
    },

    async latest() {
      const row = await metadata.query(latestRow);
      return row === undefined ? undefined : toApplied(row);
    },

    async current() {
      const applied = await registry.latest();
      if (applied === undefined) {
        throw new NotFoundError("no feature repository has been applied; run `keel features apply FILE` first");
      }
      return applied;
    },

    async recordMaterialization(r) {
      await metadata.query((db) =>
        db
          .insertInto("feature_materializations")
          .values({
            id: randomUUID(),
            feature_view: r.featureView,
            start_time: r.start,
            end_time: r.end,
            rows_written: r.rows,
            finished_at: clock(),
          })
          .execute(),
      );
    },

    async materializedUntil(featureView) {
      const row = await metadata.query((db) =>
        db
          .selectFrom("feature_materializations")
          .select((eb) => eb.fn.max("end_time").as("end"))
          .where("feature_view", "=", featureView)
          .executeTakeFirst(),
      );
      return row?.end === null || row?.end === undefined ? undefined : Number(row.end);
    },
  };
  return registry;
}
