import type { Clock } from "../runtime/index.js";
import { DataIntegrityError } from "../errors.js";
import { appendAudit } from "./audit.js";
import type { MetadataDb } from "./metadata-db.js";
import type { CanaryApprovalTable, ServingCanaryTable } from "./schema.js";

/**
 * Canary rollouts kept in the metadata database: each endpoint's latest canary (version, step,
 * start times, status and the decisions that moved it), so a restarted server resumes it where it
 * was; and the approvals that let a version's finished canary move the `champion` alias.
 */
export type CanaryStatus = "running" | "promoted" | "rolled_back";
export type CanaryAction = "start" | "advance" | "hold" | "rollback" | "promote";

/** One decision about a canary, with the evidence that caused it. */
export interface CanaryDecision {
  readonly at: number;
  readonly action: CanaryAction;
  /** Step index and traffic share after the decision. */
  readonly step: number;
  readonly percent: number;
  readonly reason: string;
  /** What the decision rested on: error counts, a firing alert, a gate's comparison, an approval. */
  readonly evidence?: unknown;
}

export interface StoredCanary {
  readonly endpoint: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly status: CanaryStatus;
  readonly step: number;
  readonly startedAt: number;
  readonly stepStartedAt: number;
  readonly updatedAt: number;
  readonly reason?: string;
  /** Oldest first; the latest 100 are kept. */
  readonly decisions: readonly CanaryDecision[];
}

export type CanaryState = Omit<StoredCanary, "updatedAt" | "decisions">;

export interface CanaryApproval {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly approver: string;
  readonly reason: string;
  readonly approvedAt: number;
}

export interface CanaryStore {
  get(endpoint: string): Promise<StoredCanary | undefined>;
  /**
   * Writes an endpoint's canary state with `decision` appended (a different version starts a new
   * history) and the decision's audit row (`serving_canary.<action>`), in one transaction.
   */
  record(state: CanaryState, decision: CanaryDecision, actor: string): Promise<StoredCanary>;
  /** Lets a version's finished canary move the `champion` alias; audited as `canary.approve`. */
  approve(approval: Omit<CanaryApproval, "approvedAt">): Promise<CanaryApproval>;
  approval(modelName: string, modelVersion: string): Promise<CanaryApproval | undefined>;
}

const KEPT_DECISIONS = 100;

function parseDecisions(row: ServingCanaryTable): CanaryDecision[] {
  try {
    return JSON.parse(row.decisions) as CanaryDecision[];
  } catch (cause) {
    throw new DataIntegrityError(`serving canary ${row.endpoint}: stored decisions are not readable JSON`, { cause });
  }
}

function toStored(row: ServingCanaryTable): StoredCanary {
  return {
    endpoint: row.endpoint,
    modelName: row.model_name,
    modelVersion: row.model_version,
    status: row.status as CanaryStatus,
    step: Number(row.step),
    startedAt: Number(row.started_at),
    stepStartedAt: Number(row.step_started_at),
    updatedAt: Number(row.updated_at),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    decisions: parseDecisions(row),
  };
}

function toApproval(row: CanaryApprovalTable): CanaryApproval {
  return {
    modelName: row.model_name,
    modelVersion: row.model_version,
    approver: row.approver,
    reason: row.reason,
    approvedAt: Number(row.approved_at),
  };
}

/** The canary store on the metadata database, migrated to 0070 or later. */
export function createCanaryStore(metadata: MetadataDb, options: { clock?: Clock } = {}): CanaryStore {
  const clock = options.clock ?? Date.now;
  return {
    async get(endpoint) {
      const row = await metadata.query((db) =>
        db.selectFrom("serving_canary").selectAll().where("endpoint", "=", endpoint).executeTakeFirst(),
      );
      return row === undefined ? undefined : toStored(row);
    },

    record(state, decision, actor) {
      return metadata.transaction(async (t) => {
        const now = clock();
        const before = await t
          .selectFrom("serving_canary")
          .selectAll()
          .where("endpoint", "=", state.endpoint)
          .executeTakeFirst();
        const same =
          before !== undefined && before.model_name === state.modelName && before.model_version === state.modelVersion;
        const decisions = [...(same ? parseDecisions(before) : []), decision].slice(-KEPT_DECISIONS);
        const row: ServingCanaryTable = {
          endpoint: state.endpoint,
          model_name: state.modelName,
          model_version: state.modelVersion,
          status: state.status,
          step: state.step,
          // A canary's start stays what it was through its later decisions.
          started_at: same ? before.started_at : state.startedAt,
          step_started_at: state.stepStartedAt,
          updated_at: now,
          reason: state.reason ?? null,
          decisions: JSON.stringify(decisions),
        };
        if (before === undefined) await t.insertInto("serving_canary").values(row).execute();
        else await t.updateTable("serving_canary").set(row).where("endpoint", "=", state.endpoint).execute();
        await appendAudit(
          t,
          {
            actor,
            action: `serving_canary.${decision.action}`,
            targetType: "serving_canary",
            targetId: state.endpoint,
            ...(before !== undefined ? { before: { status: before.status, step: Number(before.step) } } : {}),
            after: {
              model_name: state.modelName,
              model_version: state.modelVersion,
              status: state.status,
              step: decision.step,
              percent: decision.percent,
              reason: decision.reason,
              ...(decision.evidence !== undefined ? { evidence: decision.evidence } : {}),
            },
          },
          now,
          metadata.chainKeyring?.current,
        );
        return toStored(row);
      });
    },

    approve(input) {
      return metadata.transaction(async (t) => {
        const now = clock();
        const row: CanaryApprovalTable = {
          model_name: input.modelName,
          model_version: input.modelVersion,
          approver: input.approver,
          reason: input.reason,
          approved_at: now,
        };
        await t
          .deleteFrom("canary_approval")
          .where("model_name", "=", input.modelName)
          .where("model_version", "=", input.modelVersion)
          .execute();
        await t.insertInto("canary_approval").values(row).execute();
        await appendAudit(
          t,
          {
            actor: input.approver,
            action: "canary.approve",
            targetType: "model_version",
            targetId: `${input.modelName}/${input.modelVersion}`,
            after: { approver: input.approver, reason: input.reason },
          },
          now,
          metadata.chainKeyring?.current,
        );
        return toApproval(row);
      });
    },

    async approval(modelName, modelVersion) {
      const row = await metadata.query((db) =>
        db
          .selectFrom("canary_approval")
          .selectAll()
          .where("model_name", "=", modelName)
          .where("model_version", "=", modelVersion)
          .executeTakeFirst(),
      );
      return row === undefined ? undefined : toApproval(row);
    },
  };
}
