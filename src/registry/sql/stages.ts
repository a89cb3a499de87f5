import type { RegistryStore } from "../types.js";
import { canonicalStage, getVersion, touchModel, versionRow, type RegistryContext } from "./shared.js";

/** Legacy stages: a transition, archiving the versions in the target stage when asked (as MLflow). */
export function stageMethods(ctx: RegistryContext): Pick<RegistryStore, "transitionStage"> {
  const { clock, write } = ctx;
  return {
    async transitionStage(name, version, stage, archiveExistingVersions, actor) {
      const target = canonicalStage(stage);
      return write(actor, async (tx, audit, emit) => {
        const row = await versionRow(tx, name, version);
        const now = clock();
        const archived: number[] = [];
        // MLflow archives the others only when moving into Staging or Production.
        if (archiveExistingVersions && (target === "Staging" || target === "Production")) {
          const others = await tx
            .selectFrom("model_versions")
            .select("version")
            .where("name", "=", name)
            .where("current_stage", "=", target)
            .where("version", "!=", row.version)
            .execute();
          for (const o of others) {
            archived.push(Number(o.version));
            await tx
              .updateTable("model_versions")
              .set({ current_stage: "Archived", last_updated_time: now })
              .where("name", "=", name)
              .where("version", "=", o.version)
              .execute();
            emit({
              event: "MODEL_VERSION_STAGE_CHANGED",
              model: name,
              data: { name, version: String(o.version), from_stage: target, to_stage: "Archived" },
            });
          }
        }
        await tx
          .updateTable("model_versions")
          .set({ current_stage: target, last_updated_time: now })
          .where("name", "=", name)
          .where("version", "=", row.version)
          .execute();
        await touchModel(tx, name, now);
        await audit({
          action: "model_version.transition_stage",
          targetType: "model_version",
          targetId: `${name}/${version}`,
          before: { stage: row.current_stage },
          after: { stage: target, archived: archived.map(String) },
        });
        emit({
          event: "MODEL_VERSION_STAGE_CHANGED",
          model: name,
          data: { name, version: String(row.version), from_stage: row.current_stage, to_stage: target },
        });
        return getVersion(tx, name, version);
      });
    },
  };
}
