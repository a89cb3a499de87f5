import { randomUUID } from "node:crypto";
import { InvalidParameterError } from "../../errors.js";
import type { DatasetInput, TrackingStore } from "../types.js";
import { checkName } from "../validate.js";
import { activeRun, type TrackingContext } from "./shared.js";

/** Dataset inputs of runs: datasets are stored once per experiment and linked to each run that used them. */
export function datasetMethods(ctx: TrackingContext): Pick<TrackingStore, "logInputs"> {
  const { write } = ctx;
  return {
    async logInputs(runId, datasets: readonly DatasetInput[], actor) {
      for (const d of datasets) {
        checkName("dataset name", d.dataset.name, 500);
        checkName("dataset digest", d.dataset.digest, 36);
        checkName("dataset source_type", d.dataset.sourceType, 36);
        if (typeof d.dataset.source !== "string") {
          throw new InvalidParameterError(`dataset ${d.dataset.name} source must be a string`, {
            details: { field: "source" },
          });
        }
        for (const t of d.tags) {
          checkName("input tag key", t.key, 255);
          if (t.value.length > 500) {
            throw new InvalidParameterError(`input tag ${t.key} value must be at most 500 characters`, {
              details: { field: "tags", value: t.key },
            });
          }
        }
      }
      return write(actor, async (tx, audit) => {
        const run = await activeRun(tx, runId);
        for (const d of datasets) {
          const ds = d.dataset;
          const found = await tx
            .selectFrom("datasets")
            .select("dataset_uuid")
            .where("experiment_id", "=", run.experiment_id)
            .where("name", "=", ds.name)
            .where("digest", "=", ds.digest)
            .executeTakeFirst();
          let datasetUuid = found?.dataset_uuid;
          if (datasetUuid === undefined) {
            datasetUuid = randomUUID();
            await tx
              .insertInto("datasets")
              .values({
                dataset_uuid: datasetUuid,
                experiment_id: run.experiment_id,
                name: ds.name,
                digest: ds.digest,
                source_type: ds.sourceType,
                source: ds.source,
                schema: ds.schema ?? null,
                profile: ds.profile ?? null,
              })
              .execute();
          }
          const linked = await tx
            .selectFrom("inputs")
            .select("input_uuid")
            .where("dataset_uuid", "=", datasetUuid)
            .where("run_uuid", "=", runId)
            .executeTakeFirst();
          if (linked !== undefined) continue;
          const inputUuid = randomUUID();
          await tx
            .insertInto("inputs")
            .values({ input_uuid: inputUuid, dataset_uuid: datasetUuid, run_uuid: runId })
            .execute();
          if (d.tags.length > 0) {
            await tx
              .insertInto("input_tags")
              .values(d.tags.map((t) => ({ input_uuid: inputUuid, key: t.key, value: t.value })))
              .execute();
          }
        }
        await audit({
          action: "run.log_inputs",
          targetType: "run",
          targetId: runId,
          after: {
            datasets: datasets.map((d) => ({
              name: d.dataset.name,
              digest: d.dataset.digest,
              source: d.dataset.source.slice(0, 200),
            })),
          },
        });
      });
    },
  };
}
