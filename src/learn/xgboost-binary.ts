import { specError } from "../spec-fields.js";

/**
 * XGBoost's two binary model files, read into the same document as its JSON format so one parser
 * (parseXGBoostJson) builds the trees:
 *  - UBJSON (`save_model("m.ubj")`, the default from XGBoost 2.1): the JSON document in Universal
 *    Binary JSON — big-endian, with typed, counted arrays (`[$d#L<n>` then n raw float32).
 *  - the legacy binary format (`save_model("m.xgb")` or any other extension before 2.1, MLflow's
 *    default `model_format`): C structs in little-endian order — an optional "binf" magic, the
 *    136-byte LearnerModelParamLegacy, the objective and booster names, the 160-byte
 *    GBTreeModelParam, then per tree a 148-byte TreeParam, 20-byte nodes and 16-byte node stats.
 *    It carries no feature names.
 */

const UBJ = "XGBoost UBJSON model";

class UbjReader {
  private pos = 0;
  private readonly view: DataView;
  private readonly text = new TextDecoder();
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.bytes.length) throw specError(`byte ${at}`, "end of file", `${UBJ}: truncated`);
    this.pos += n;
    return at;
  }

  private marker(): string {
    return String.fromCharCode(this.bytes[this.need(1)] as number);
  }

  private peek(): string {
    return String.fromCharCode(this.bytes[this.pos] ?? 0);
  }

  /** A scalar of the given type marker (numbers, strings, booleans, null). */
  private scalar(t: string): unknown {
    const v = this.view;
    switch (t) {
      case "Z":
        return null;
      case "T":
        return true;
      case "F":
        return false;
      case "i":
        return v.getInt8(this.need(1));
      case "U":
        return v.getUint8(this.need(1));
      case "I":
        return v.getInt16(this.need(2));
      case "l":
        return v.getInt32(this.need(4));
      case "L":
        return Number(v.getBigInt64(this.need(8)));
      case "d":
        return v.getFloat32(this.need(4));
      case "D":
        return v.getFloat64(this.need(8));
      case "C":
        return String.fromCharCode(v.getUint8(this.need(1)));
      case "S":
      case "H": {
        const n = this.length();
        return this.text.decode(this.bytes.subarray(this.need(n), this.pos));
      }
      case "[":
        return this.array();
      case "{":
        return this.object();
      default:
        throw specError(`byte ${this.pos - 1}`, t, `${UBJ}: unknown type marker`);
    }
  }

  private length(): number {
    const n = this.scalar(this.marker());
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0)
      throw specError(`byte ${this.pos}`, n, `${UBJ}: a length must be a non-negative integer`);
    return n;
  }

  /** `$type` and `#count` of an optimised container, when present. */
  private header(): { type?: string; count?: number } {
    let type: string | undefined;
    if (this.peek() === "$") {
      this.pos++;
      type = this.marker();
    }
    if (this.peek() === "#") {
      this.pos++;
      return { ...(type === undefined ? {} : { type }), count: this.length() };
    }
    return type === undefined ? {} : { type };
  }

  /** A typed, counted array of fixed-width numbers, read in one tight loop (trees are mostly these). */
  private typedArray(type: string, count: number): number[] | undefined {
    const width = { U: 1, i: 1, I: 2, l: 4, d: 4, D: 8 }[type];
    if (width === undefined) return undefined;
    const at = this.need(width * count);
    const v = this.view;
    const out = new Array<number>(count);
    for (let i = 0, p = at; i < count; i++, p += width) {
      out[i] =
        type === "d"
          ? v.getFloat32(p)
          : type === "l"
            ? v.getInt32(p)
            : type === "D"
              ? v.getFloat64(p)
              : type === "U"
                ? v.getUint8(p)
                : type === "i"
                  ? v.getInt8(p)
                  : v.getInt16(p);
    }
    return out;
  }

  private array(): unknown[] {
    const { type, count } = this.header();
    if (count !== undefined) {
      const typed = type === undefined ? undefined : this.typedArray(type, count);
      if (typed !== undefined) return typed;
      const out: unknown[] = [];
      for (let i = 0; i < count; i++) out.push(this.scalar(type ?? this.marker()));
      return out;
    }
    const out: unknown[] = [];
    while (this.peek() !== "]") out.push(this.scalar(this.marker()));
    this.pos++;
    return out;
  }

  private object(): Record<string, unknown> {
    const { type, count } = this.header();
    const out: Record<string, unknown> = {};
    const entry = () => {
      const n = this.length();
      const key = this.text.decode(this.bytes.subarray(this.need(n), this.pos));
      out[key] = this.scalar(type ?? this.marker());
    };
    if (count !== undefined) for (let i = 0; i < count; i++) entry();
    else {
      while (this.peek() !== "}") entry();
      this.pos++;
    }
    return out;
  }

  document(): unknown {
    const v = this.scalar(this.marker());
    if (this.pos !== this.bytes.length)
      throw specError(`byte ${this.pos}`, `${this.bytes.length - this.pos} bytes`, `${UBJ}: trailing data`);
    return v;
  }
}

/** A UBJSON document (as XGBoost writes it) decoded to plain JS values. */
export function decodeUbjson(bytes: Uint8Array): unknown {
  return new UbjReader(bytes).document();
}

/** True when the bytes start like XGBoost's UBJSON: `{` then a length-typed key (XGBoost's own check). */
export function looksLikeUbjson(bytes: Uint8Array): boolean {
  return bytes[0] === 0x7b && bytes.length > 1 && /[A-Za-z]/.test(String.fromCharCode(bytes[1] as number));
}

const LEGACY = "XGBoost legacy binary model";
const LEARNER_PARAM = 136;
const GBTREE_PARAM = 160;
const TREE_PARAM = 148;
const NODE = 20;
const NODE_STAT = 16;

/** Offset of the learner parameters: after the optional "binf" magic. */
function legacyStart(bytes: Uint8Array): number {
  return bytes[0] === 0x62 && bytes[1] === 0x69 && bytes[2] === 0x6e && bytes[3] === 0x66 ? 4 : 0;
}

/**
 * True when the bytes parse as the legacy format's head: learner parameters followed by an
 * objective name such as "binary:logistic".
 */
export function looksLikeXGBoostLegacy(bytes: Uint8Array): boolean {
  const at = legacyStart(bytes) + LEARNER_PARAM;
  if (bytes.length < at + 8) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(at, true));
  if (n < 3 || n > 64 || bytes.length < at + 8 + n) return false;
  return /^[a-z]+:[a-z_]+$/.test(new TextDecoder().decode(bytes.subarray(at + 8, at + 8 + n)));
}

/** The legacy binary model as the XGBoost JSON document parseXGBoostJson reads. */
export function legacyBinaryToJson(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = legacyStart(bytes);
  const need = (n: number, what: string): number => {
    if (pos + n > bytes.length) throw specError(what, "end of file", `${LEGACY}: truncated`);
    const at = pos;
    pos += n;
    return at;
  };
  const text = (what: string): string => {
    const n = Number(view.getBigUint64(need(8, what), true));
    if (n > 1 << 20) throw specError(what, n, `${LEGACY}: implausible string length`);
    return new TextDecoder().decode(bytes.subarray(need(n, what), pos));
  };

  const p = need(LEARNER_PARAM, "learner parameters");
  const baseScore = view.getFloat32(p, true);
  const numFeature = view.getUint32(p + 4, true);
  const numClass = view.getInt32(p + 8, true);
  const extraAttrs = view.getInt32(p + 12, true);
  const major = view.getUint32(p + 20, true);
  const minor = view.getUint32(p + 24, true);
  const numTarget = view.getUint32(p + 28, true) || 1;
  if (major < 1)
    throw specError(
      "learner parameters.major_version",
      major,
      `${LEGACY}: models from XGBoost < 1.0 are not supported`,
    );
  const objective = text("objective");
  const booster = text("booster");
  if (booster !== "gbtree") throw specError("booster", booster, `${LEGACY}: only "gbtree" boosters are supported`);

  const g = need(GBTREE_PARAM, "gbtree parameters");
  const numTrees = view.getInt32(g, true);
  const trees: unknown[] = [];
  for (let t = 0; t < numTrees; t++) trees.push(legacyTree(view, need, t));
  need(4 * numTrees, "tree_info");
  const attributes: Record<string, string> = {};
  if (extraAttrs !== 0) {
    const count = Number(view.getBigUint64(need(8, "attributes"), true));
    for (let i = 0; i < count; i++) attributes[text(`attributes[${i}].key`)] = text(`attributes[${i}].value`);
  }
  return {
    version: [major, minor, 0],
    learner: {
      attributes,
      feature_names: [],
      objective: { name: objective },
      learner_model_param: {
        base_score: String(baseScore),
        num_feature: String(numFeature),
        num_class: String(numClass),
        num_target: String(numTarget),
      },
      gradient_booster: { name: booster, model: { trees } },
    },
  };
}

function legacyTree(view: DataView, need: (n: number, what: string) => number, t: number): unknown {
  const where = `trees[${t}]`;
  const tp = need(TREE_PARAM, `${where}.tree_param`);
  const n = view.getInt32(tp + 4, true);
  if (n < 1) throw specError(`${where}.tree_param.num_nodes`, n, `${LEGACY}: must be ≥ 1`);
  const left: number[] = [];
  const right: number[] = [];
  const cond: number[] = [];
  const index: number[] = [];
  const defaultLeft: number[] = [];
  const hessian: number[] = [];
  const nodes = need(NODE * n, `${where}.nodes`);
  for (let i = 0; i < n; i++) {
    const at = nodes + NODE * i;
    const sindex = view.getUint32(at + 12, true);
    const deleted = sindex === 0xffffffff;
    left.push(deleted ? -1 : view.getInt32(at + 4, true));
    right.push(deleted ? -1 : view.getInt32(at + 8, true));
    // The feature index is the low 31 bits; the high bit says missing values go left.
    index.push(deleted ? 0 : sindex & 0x7fffffff);
    defaultLeft.push(!deleted && sindex >>> 31 === 1 ? 1 : 0);
    cond.push(view.getFloat32(at + 16, true));
  }
  const stats = need(NODE_STAT * n, `${where}.stats`);
  for (let i = 0; i < n; i++) hessian.push(view.getFloat32(stats + NODE_STAT * i + 4, true));
  return {
    tree_param: { num_nodes: String(n) },
    left_children: left,
    right_children: right,
    split_conditions: cond,
    split_indices: index,
    default_left: defaultLeft,
    sum_hessian: hessian,
  };
}
