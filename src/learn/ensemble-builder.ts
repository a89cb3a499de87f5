import { InvalidParameterError } from "../errors.js";
import { MISSING_NAN, type Link, type SplitCompare, type TreeEnsemble } from "./tree-ensemble.js";

/**
 * One tree as a format stores it: parallel arrays indexed by the format's own node ids, a root,
 * and -1 in `feature` for leaves. Node ids may be sparse or out of order (XGBoost reuses pruned
 * ids); the builder keeps only nodes reachable from the root, numbered breadth-first.
 */
export interface SourceTree {
  readonly root: number;
  readonly feature: ArrayLike<number>;
  readonly threshold: ArrayLike<number>;
  readonly left: ArrayLike<number>;
  readonly right: ArrayLike<number>;
  readonly defaultLeft: ArrayLike<number>;
  readonly value: ArrayLike<number>;
  /** Per node MISSING_* mode; absent means MISSING_NAN. */
  readonly missing?: ArrayLike<number>;
  /** Per node category-set index (into the builder's sets), -1 for numeric splits. */
  readonly catSet?: ArrayLike<number>;
  /** Per node training weight (hessian sum or row count); kept only when every tree has it. */
  readonly cover?: ArrayLike<number>;
}

/** Collects trees from a model file into one TreeEnsemble. `where` names the source in errors. */
export class EnsembleBuilder {
  private readonly feature: number[] = [];
  private readonly threshold: number[] = [];
  private readonly left: number[] = [];
  private readonly right: number[] = [];
  private readonly defaultLeft: number[] = [];
  private readonly value: number[] = [];
  private readonly missing: number[] = [];
  private readonly catSet: number[] = [];
  private readonly cover: number[] = [];
  private everyTreeHasCover = true;
  private readonly offsets: number[] = [0];
  private readonly setOffsets: number[] = [0];
  private readonly bits: number[] = [];
  private anyMissingMode = false;

  constructor(private readonly where: string) {}

  /** Adds a category set as 32-bit words; returns its index for `SourceTree.catSet`. */
  addCategorySet(words: ArrayLike<number>): number {
    for (let i = 0; i < words.length; i++) this.bits.push((words[i] ?? 0) >>> 0);
    this.setOffsets.push(this.bits.length);
    return this.setOffsets.length - 2;
  }

  addTree(t: SourceTree, treeIndex: number): void {
    const n = t.feature.length;
    const bad: (field: string, value: unknown, rule: string) => never = (field, value, rule) => {
      throw new InvalidParameterError(`${this.where}: tree ${treeIndex} ${field} = ${String(value)}: ${rule}`, {
        details: { field: `tree[${treeIndex}].${field}`, value, rule },
      });
    };
    if (!(t.root >= 0 && t.root < n)) bad("root", t.root, `must be a node id in [0, ${n})`);
    const order: number[] = [t.root];
    const local = new Map<number, number>([[t.root, 0]]);
    for (let head = 0; head < order.length; head++) {
      const id = order[head] ?? 0;
      if ((t.feature[id] ?? -1) < 0) continue;
      for (const [field, c] of [
        ["left", t.left[id]],
        ["right", t.right[id]],
      ] as const) {
        if (c === undefined || !Number.isInteger(c) || c < 0 || c >= n) {
          bad(`${field}[${id}]`, c, `must be a node id in [0, ${n})`);
        }
        if (local.has(c))
          bad(`${field}[${id}]`, c, "a node may have only one parent (the tree has a cycle or shared node)");
        local.set(c, order.length);
        order.push(c);
      }
    }
    for (const id of order) {
      const f = t.feature[id] ?? -1;
      const leaf = f < 0;
      this.feature.push(leaf ? -1 : f);
      this.threshold.push(leaf ? 0 : (t.threshold[id] ?? NaN));
      this.left.push(leaf ? 0 : (local.get(t.left[id] ?? -1) ?? 0));
      this.right.push(leaf ? 0 : (local.get(t.right[id] ?? -1) ?? 0));
      this.defaultLeft.push(leaf ? 0 : (t.defaultLeft[id] ?? 0) !== 0 ? 1 : 0);
      this.value.push(leaf ? (t.value[id] ?? NaN) : 0);
      const m = leaf ? MISSING_NAN : (t.missing?.[id] ?? MISSING_NAN);
      if (m !== MISSING_NAN) this.anyMissingMode = true;
      this.missing.push(m);
      this.catSet.push(leaf ? -1 : (t.catSet?.[id] ?? -1));
      this.cover.push(t.cover?.[id] ?? NaN);
    }
    if (t.cover === undefined) this.everyTreeHasCover = false;
    this.offsets.push(this.feature.length);
  }

  build(opts: {
    nFeatures: number;
    baseScore: number;
    link: Link;
    compare: SplitCompare;
    /** The runtime's arithmetic: float32 rounds thresholds, leaves and the running sum to float32 (XGBoost). */
    precision: "float32" | "float64";
    sigmoidScale?: number;
  }): TreeEnsemble {
    const anyCat = this.setOffsets.length > 1;
    const f32 = opts.precision === "float32";
    return {
      nFeatures: opts.nFeatures,
      treeOffsets: Int32Array.from(this.offsets),
      feature: Int32Array.from(this.feature),
      threshold: f32 ? Float32Array.from(this.threshold) : Float64Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      value: f32 ? Float64Array.from(this.value, Math.fround) : Float64Array.from(this.value),
      baseScore: opts.baseScore,
      link: opts.link,
      compare: opts.compare,
      sumPrecision: opts.precision,
      ...(opts.sigmoidScale === undefined ? {} : { sigmoidScale: opts.sigmoidScale }),
      ...(this.anyMissingMode ? { missing: Uint8Array.from(this.missing) } : {}),
      ...(this.everyTreeHasCover ? { cover: Float64Array.from(this.cover) } : {}),
      ...(anyCat
        ? {
            categorical: {
              nodeSet: Int32Array.from(this.catSet),
              setOffsets: Int32Array.from(this.setOffsets),
              bits: Uint32Array.from(this.bits),
            },
          }
        : {}),
    };
  }
}
