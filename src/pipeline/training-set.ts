/**
 * A pipeline's training data from a feature service: the entity dataframe joined point-in-time
 * with the service's features (the feature store's historical retrieval), read as a Frame. The
 * entity's event time and join keys are bookkeeping, not model inputs, and are dropped (a join key
 * named as the pipeline's `idColumn` stays, as the row id). With a training window, only the entity
 * rows whose event time lies in it are joined.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { readTable, type Frame } from "../data/index.js";
import { UnavailableError } from "../errors.js";
import {
  ENTITY_TIMESTAMP,
  entityInputs,
  featureService,
  getHistoricalFeatures,
  type FeatureRegistry,
} from "../features/index.js";
import type { TrainingSetSpec } from "./definition.js";

export interface TrainingSet {
  readonly frame: Frame;
  /** The training set as written (Parquet): the exact bytes trained on; equal features, equal bytes. */
  readonly bytes: Uint8Array;
  readonly entityDfPath: string;
  /** The feature repository version the features were defined by. */
  readonly featureRepoVersion: number;
  readonly featureRepoDigest: string;
}

export async function readTrainingSet(
  spec: TrainingSetSpec,
  baseDir: string,
  registry: FeatureRegistry | undefined,
  idColumn: string | undefined,
  entityWindow?: { readonly from: number; readonly to: number },
): Promise<TrainingSet> {
  if (registry === undefined) {
    throw new UnavailableError(
      `trainingSet.featureService ${JSON.stringify(spec.featureService)}: this pipeline runner has no feature registry`,
    );
  }
  const applied = await registry.current();
  const features = featureService(applied.repo, spec.featureService, "trainingSet.featureService").features;
  const entityDfPath = path.resolve(baseDir, spec.entityDf);
  const dir = await mkdtemp(path.join(tmpdir(), "keel-training-set-"));
  try {
    const output = path.join(dir, "training-set.parquet");
    await getHistoricalFeatures(applied.repo, {
      entityDf: entityDfPath,
      features,
      output,
      ...(entityWindow === undefined ? {} : { entityWindow }),
    });
    const table = await readTable(output);
    const dropped = new Set([ENTITY_TIMESTAMP, ...entityInputs(applied.repo, features).joinKeys]);
    if (idColumn !== undefined) dropped.delete(idColumn);
    return {
      frame: { nRows: table.nRows, columns: table.columns.filter((c) => !dropped.has(c.name)) },
      bytes: new Uint8Array(await readFile(output)),
      entityDfPath,
      featureRepoVersion: applied.version,
      featureRepoDigest: applied.digest,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
