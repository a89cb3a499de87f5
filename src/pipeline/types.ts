/** What a pipeline run takes and what it reports: its stores, options, step events and result. */
import type { Clock } from "../runtime/index.js";
import type { Frame } from "../data/index.js";
import type { KeelModel, Trial } from "../learn/index.js";
import type { FeatureRegistry } from "../features/index.js";
import type { RegistryStore } from "../registry/index.js";
import type { ArtifactStore, Actor, TrackingStore } from "../tracking/index.js";
import type { ValidationReport } from "../validate/index.js";
import type { BehaviourResult } from "./behaviour.js";
import type { GateResult } from "./gates.js";
import type { ReviewedDecisionsLineage } from "./reviewed-decisions.js";
import type { DecisionStore } from "../store/index.js";

export type StepName = "validate" | "split" | "train" | "evaluate" | "gates" | "behaviour" | "register";

export interface PipelineDeps {
  readonly tracking: TrackingStore;
  readonly registry: RegistryStore;
  readonly artifacts: ArtifactStore;
  /** Epoch milliseconds; default Date.now. */
  readonly clock?: Clock;
  /** Recorded as the runs' user and in the audit log. */
  readonly actor?: Actor;
  /** The feature registry a definition's `trainingSet` reads its feature service from. */
  readonly features?: FeatureRegistry;
  /** The decision records a definition's `reviewedDecisions` reads. */
  readonly decisions?: DecisionStore;
}

export interface PipelineOptions {
  /** Directory the definition's relative paths resolve against; default the current directory. */
  readonly baseDir?: string;
  /** Reuse cached step outputs (default true); false recomputes every step (and refreshes the cache). */
  readonly cache?: boolean;
  /** The code version to record; default `git rev-parse HEAD` in `baseDir` (absent outside git). */
  readonly codeVersion?: string;
  /** Extra tags on the pipeline run (e.g. what triggered it). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Told when each step starts and ends (for progress output). */
  readonly onStep?: (event: StepEvent) => void;
  /**
   * Called once a new version is registered and its reference profile attached, with the training
   * rows and the model. Not called when a version is reused.
   */
  readonly onRegistered?: (registered: RegisteredVersion) => Promise<void>;
  /**
   * When a version of the model already holds this exact model (same checksum) trained from the
   * same data and config, report that version instead of registering a duplicate; no alias moves.
   */
  readonly reuseIdenticalVersion?: boolean;
}

/** A version a pipeline run registered, with the model and the rows it was trained on. */
export interface RegisteredVersion {
  readonly name: string;
  readonly version: string;
  readonly training: Frame;
  readonly model: KeelModel;
}

export interface StepEvent {
  readonly step: StepName;
  readonly phase: "start" | "end";
  readonly status?: StepStatus;
  readonly cached?: boolean;
  readonly seconds?: number;
  readonly message?: string;
}

export type StepStatus = "passed" | "failed" | "skipped";

export interface StepRecord {
  readonly step: StepName;
  readonly status: StepStatus;
  /** The step's child run (absent for a skipped step). */
  readonly runId?: string;
  readonly cached: boolean;
  readonly seconds: number;
  readonly message: string;
}

/** The exact bytes a run trains on (the data file, or its window's rows as CSV) and their file extension. */
export interface TrainingDataBytes {
  readonly bytes: Uint8Array;
  readonly ext: string;
}

export interface PipelineLineage {
  /** sha256 of the exact training data: the input file, the window's rows as CSV, or the training set built from a feature service. */
  readonly dataHash: string;
  /** The data file, or the entity dataframe of a feature service's training set. */
  readonly dataPath: string;
  /** The feature service the training set came from, and the feature repository version defining it. */
  readonly featureService?: string;
  readonly featureRepoVersion?: number;
  /** sha256 of the canonical JSON of the resolved definition (suite inlined). */
  readonly configHash: string;
  /** The reviewed decisions appended to the training data (`reviewedDecisions`). */
  readonly reviewedDecisions?: ReviewedDecisionsLineage;
  /** git commit of the code, when the definition is in a git work tree. */
  readonly codeVersion?: string;
}

export interface PipelineResult {
  readonly status: "passed" | "failed";
  readonly pipeline: string;
  readonly runId: string;
  readonly experimentId: string;
  readonly failedStep?: StepName;
  /** One readable line naming what failed: the rule or gate, the observed value and the threshold. */
  readonly failure?: string;
  readonly lineage: PipelineLineage;
  readonly steps: readonly StepRecord[];
  readonly validation?: ValidationReport;
  readonly split?: { readonly trainRows: number; readonly validRows: number };
  /** Validation metrics of the trained model at the decision threshold. */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly tuning?: { readonly metric: string; readonly best: Trial; readonly trials: number };
  readonly gates?: readonly GateResult[];
  readonly behaviour?: readonly BehaviourResult[];
  readonly registered?: {
    readonly name: string;
    readonly version: string;
    readonly alias: string;
    readonly source: string;
    readonly checksum: string;
    /** True when an identical earlier version was reused (`reuseIdenticalVersion`). */
    readonly reused: boolean;
  };
}
