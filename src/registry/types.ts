import type { ModelVersionStatus, Stage } from "../wire/index.js";
import type { Signature } from "../data/index.js";
import type { Actor, Page, Tag } from "../tracking/index.js";

/**
 * Model registry entities and the `RegistryStore` interface, with MLflow's semantics, plus what
 * keel adds to every version: the artifact's sha256, its input signature and its lineage.
 */
export type { ModelVersionStatus, Stage } from "../wire/index.js";

/**
 * The tag (on the registered model and on each version) that marks a prompt, as MLflow 3 stores
 * prompts in its model registry. Registered-model and model-version searches leave prompts out
 * unless the filter names this tag.
 */
export const IS_PROMPT_TAG = "mlflow.prompt.is_prompt";

/** The tag that marks an LLM evaluation dataset; searches leave datasets out unless the filter names it. */
export const IS_DATASET_TAG = "keel.llm.dataset";

export interface ModelAlias {
  readonly alias: string;
  readonly version: string;
}

export interface Lineage {
  /** sha256 of the training data. */
  readonly dataHash?: string;
  /** git commit of the code that trained the model. */
  readonly codeVersion?: string;
  /** sha256 of the pipeline / training configuration. */
  readonly configHash?: string;
  readonly [key: string]: string | undefined;
}

export interface ModelVersion {
  readonly name: string;
  readonly version: string;
  readonly creationTimestamp: number;
  readonly lastUpdatedTimestamp: number;
  readonly userId: string;
  readonly currentStage: Stage;
  readonly description: string;
  readonly source: string;
  readonly runId: string;
  readonly runLink: string;
  readonly status: ModelVersionStatus;
  readonly statusMessage: string;
  readonly tags: readonly Tag[];
  readonly aliases: readonly string[];
  /** keel: sha256 of the model artifact, when known. */
  readonly checksum?: string;
  /** keel: input contract of the model, when known. */
  readonly signature?: Signature;
  readonly lineage?: Lineage;
  /** The logged model (MLflow 3) this version was registered from. */
  readonly modelId?: string;
}

export interface RegisteredModel {
  readonly name: string;
  readonly creationTimestamp: number;
  readonly lastUpdatedTimestamp: number;
  readonly userId: string;
  readonly description: string;
  /** Latest version per stage, as MLflow returns it. */
  readonly latestVersions: readonly ModelVersion[];
  readonly tags: readonly Tag[];
  readonly aliases: readonly ModelAlias[];
}

export interface CreateModelVersionInput {
  readonly name: string;
  readonly source: string;
  readonly runId?: string;
  readonly runLink?: string;
  readonly description?: string;
  readonly tags?: readonly Tag[];
  readonly checksum?: string;
  readonly signature?: Signature;
  readonly lineage?: Lineage;
  readonly modelId?: string;
}

export interface SearchQuery {
  readonly filter?: string | undefined;
  readonly maxResults?: number | undefined;
  readonly orderBy?: readonly string[] | undefined;
  readonly pageToken?: string | undefined;
}

export type WebhookEvent =
  | "MODEL_VERSION_CREATED"
  | "MODEL_VERSION_ALIAS_CREATED"
  | "MODEL_VERSION_ALIAS_DELETED"
  | "MODEL_VERSION_STAGE_CHANGED";

export interface Webhook {
  readonly id: string;
  readonly url: string;
  readonly events: readonly WebhookEvent[];
  /** Limit to one registered model; absent means every model. */
  readonly modelName?: string;
  readonly creationTimestamp: number;
}

/**
 * A person's decision to move an alias (promotion, rollback). It is recorded on the alias move's
 * audit row, as action `registered_model.<action>` with the reason, in the same transaction.
 */
export interface AliasDecision {
  readonly action: "promote" | "rollback";
  readonly reason: string;
  /**
   * The version the alias must point at when the move commits (null: not set). When it points
   * elsewhere the move fails with InvalidStateError, so two concurrent decisions cannot both apply.
   */
  readonly expectedVersion?: string | null;
}

export interface RegistryStore {
  createRegisteredModel(
    name: string,
    description?: string,
    tags?: readonly Tag[],
    actor?: Actor,
  ): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  renameRegisteredModel(name: string, newName: string, actor?: Actor): Promise<RegisteredModel>;
  updateRegisteredModel(name: string, description: string, actor?: Actor): Promise<RegisteredModel>;
  deleteRegisteredModel(name: string, actor?: Actor): Promise<void>;
  searchRegisteredModels(query: SearchQuery): Promise<Page<RegisteredModel>>;
  setRegisteredModelTag(name: string, key: string, value: string, actor?: Actor): Promise<void>;
  deleteRegisteredModelTag(name: string, key: string, actor?: Actor): Promise<void>;

  /** Creates the registered model too if it does not exist. Status READY once stored. */
  createModelVersion(input: CreateModelVersionInput, actor?: Actor): Promise<ModelVersion>;
  getModelVersion(name: string, version: string): Promise<ModelVersion>;
  updateModelVersion(name: string, version: string, description: string, actor?: Actor): Promise<ModelVersion>;
  deleteModelVersion(name: string, version: string, actor?: Actor): Promise<void>;
  searchModelVersions(query: SearchQuery): Promise<Page<ModelVersion>>;
  getLatestVersions(name: string, stages?: readonly Stage[]): Promise<readonly ModelVersion[]>;
  setModelVersionTag(name: string, version: string, key: string, value: string, actor?: Actor): Promise<void>;
  deleteModelVersionTag(name: string, version: string, key: string, actor?: Actor): Promise<void>;
  transitionStage(
    name: string,
    version: string,
    stage: Stage,
    archiveExistingVersions: boolean,
    actor?: Actor,
  ): Promise<ModelVersion>;

  /** With `decision`, the audit row records it as a promotion or rollback with its reason. */
  setAlias(name: string, alias: string, version: string, actor?: Actor, decision?: AliasDecision): Promise<void>;
  deleteAlias(name: string, alias: string, actor?: Actor): Promise<void>;
  getVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  /** Previous versions an alias pointed to, newest first (for rollback). */
  aliasHistory(name: string, alias: string): Promise<readonly { version: string; setAt: number; userId: string }[]>;

  /** `secret` signs this webhook's deliveries; without it the server-wide webhook secret is used. */
  createWebhook(
    input: { url: string; events: readonly WebhookEvent[]; modelName?: string; secret?: string },
    actor?: Actor,
  ): Promise<Webhook>;
  listWebhooks(): Promise<readonly Webhook[]>;
  deleteWebhook(id: string, actor?: Actor): Promise<void>;
}
