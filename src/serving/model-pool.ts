import type { Frame, Signature } from "../data/index.js";
import { InvalidParameterError } from "../errors.js";
import type { Explainer, Predictor } from "../learn/index.js";
import { versionDecision, type ModelVersion } from "../registry/index.js";
import { MicroBatcher, type BatcherOptions } from "./batcher.js";
import type { InputPolicy } from "./endpoint-config.js";
import { compileValidator, type InputValidator } from "./validator.js";

/** One loaded model version: predictor, its compiled validator and its micro-batcher. */
export class LoadedModel {
  readonly validator: InputValidator;
  /** The signature as JSON: models with equal keys accept the same validated frames. */
  readonly signatureKey: string;
  readonly batcher: MicroBatcher;
  /** Bindings (endpoints, direct routes) holding this model. */
  holders = 0;
  /** Requests currently using it; closing waits for these. */
  private active = 0;
  private onIdle: (() => void) | undefined;

  private explaining: Promise<Explainer> | undefined;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly predictor: Predictor,
    readonly signature: Signature,
    batching: BatcherOptions,
    /** The registered sha256 of the artifact scored, for decision records. */
    readonly artifactSha256?: string,
    private readonly openExplainer?: () => Promise<Explainer>,
    /** The decision threshold stored on the version, used unless the endpoint sets its own. */
    readonly decisionThreshold?: number,
  ) {
    this.validator = compileValidator(signature);
    this.signatureKey = JSON.stringify(signature);
    this.batcher = new MicroBatcher((frame) => predictor.predict(frame), batching);
  }

  /** The model's exact explainer, opened on the first explained request and kept. */
  explainer(): Promise<Explainer> {
    if (this.explaining === undefined) {
      const open = this.openExplainer;
      this.explaining =
        open === undefined
          ? Promise.reject(
              new InvalidParameterError(
                `model ${this.name} version ${this.version}: this server cannot explain decisions`,
              ),
            )
          : open();
      // A failed open is retried by the next explained request.
      this.explaining.catch(() => (this.explaining = undefined));
    }
    return this.explaining;
  }

  private readonly lenient = new Map<string, InputValidator>();

  /** The validator for an endpoint's input policy, compiled once per policy. */
  validatorFor(policy: InputPolicy): InputValidator {
    if (policy.ranges === "reject" && policy.categories === "reject") return this.validator;
    const key = `${policy.ranges}/${policy.categories}`;
    let v = this.lenient.get(key);
    if (v === undefined) {
      v = compileValidator(this.signature, {
        enforceRanges: policy.ranges === "reject",
        enforceCategories: policy.categories === "reject",
      });
      this.lenient.set(key, v);
    }
    return v;
  }

  /** Mark a request as using this model until the returned release is called. */
  enter(): () => void {
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      if (this.active === 0) this.onIdle?.();
    };
  }

  /** Like `enter()`, for work queued for later (shadow scoring): balance with `unhold()`. */
  hold(): void {
    this.active++;
  }

  unhold(): void {
    this.active--;
    if (this.active === 0) this.onIdle?.();
  }

  /** Wait for in-flight requests and queued batches, then release native resources. */
  async drainAndClose(): Promise<void> {
    if (this.active > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    await this.batcher.idle();
    await this.predictor.close();
  }
}

export type ModelLoader = (version: ModelVersion) => Promise<Predictor>;
/** Opens the exact explainer of a registered version (its artifact, checksum-verified). */
export type ExplainerLoader = (version: ModelVersion) => Promise<Explainer>;

/**
 * Loads each model version once, shares it between endpoints, and closes it (after draining) when
 * the last holder lets go. A new model is warmed with one synthetic row before anyone gets it, so
 * the first real request does not pay for lazy initialisation.
 */
export class ModelPool {
  private readonly models = new Map<string, Promise<LoadedModel>>();

  constructor(
    private readonly load: ModelLoader,
    private readonly getVersion: (name: string, version: string) => Promise<ModelVersion>,
    private readonly batching: (name: string, version: string) => BatcherOptions,
    private readonly onChange: (loaded: number) => void = () => {},
    private readonly loadExplainer?: ExplainerLoader,
  ) {}

  async acquire(name: string, version: string): Promise<LoadedModel> {
    const key = `${name}\u0000${version}`;
    let p = this.models.get(key);
    if (p === undefined) {
      p = this.open(name, version);
      this.models.set(key, p);
      p.catch(() => this.models.delete(key));
    }
    const m = await p;
    m.holders++;
    return m;
  }

  release(model: LoadedModel): Promise<void> {
    model.holders--;
    if (model.holders > 0) return Promise.resolve();
    this.models.delete(`${model.name}\u0000${model.version}`);
    this.onChange(this.models.size);
    return model.drainAndClose();
  }

  get size(): number {
    return this.models.size;
  }

  private async open(name: string, version: string): Promise<LoadedModel> {
    const mv = await this.getVersion(name, version);
    const predictor = await this.load(mv);
    const signature = mv.signature ?? predictor.signature;
    try {
      const warm = await predictor.predict(warmupFrame(signature));
      if (warm.length !== 1) throw new Error(`warm-up returned ${warm.length} scores for 1 row`);
    } catch (e) {
      await predictor.close();
      throw e;
    }
    const explain = this.loadExplainer;
    const m = new LoadedModel(
      name,
      version,
      predictor,
      signature,
      this.batching(name, version),
      mv.checksum !== undefined && mv.checksum !== "" ? mv.checksum : undefined,
      explain === undefined ? undefined : () => explain(mv),
      versionDecision(mv)?.threshold,
    );
    this.onChange(this.models.size);
    return m;
  }
}

/** One plausible row: the lower end of each declared range, the first declared category. */
export function warmupFrame(signature: Signature): Frame {
  return {
    nRows: 1,
    columns: signature.inputs.map((c) =>
      c.type === "string"
        ? { kind: "categorical" as const, name: c.name, codes: Int32Array.of(0), dictionary: [c.categories?.[0] ?? ""] }
        : { kind: "numeric" as const, name: c.name, values: Float64Array.of(c.range?.min ?? 0) },
    ),
  };
}
