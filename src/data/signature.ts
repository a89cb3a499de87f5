import type { Frame } from "./frame.js";

/**
 * A model's input contract: what each raw input column must look like. Inferred from training
 * data, saved with the model, enforced by serving at the door.
 */
export type SignatureType = "double" | "long" | "boolean" | "string";

export interface SignatureColumn {
  readonly name: string;
  readonly type: SignatureType;
  readonly nullable: boolean;
  /** Observed range in the training data (numeric columns). */
  readonly range?: { readonly min: number; readonly max: number };
  /** Observed category set (string columns). */
  readonly categories?: readonly string[];
}

export interface Signature {
  readonly inputs: readonly SignatureColumn[];
  /** Output columns, e.g. `[{ name: "score", type: "double" }]`. */
  readonly outputs: readonly SignatureColumn[];
}

/**
 * Infers a signature from training data: numeric columns whose values are all integers are
 * `long`, other numeric ones `double`; categoricals are `string` with their category set.
 * `outputs` defaults to one `score` column.
 */
export function inferSignature(
  frame: Frame,
  outputs: readonly SignatureColumn[] = [{ name: "score", type: "double", nullable: false }],
): Signature {
  const inputs: SignatureColumn[] = frame.columns.map((c) => {
    if (c.kind === "categorical") {
      let nullable = false;
      const seen = new Uint8Array(c.dictionary.length);
      for (let i = 0; i < frame.nRows; i++) {
        const k = c.codes[i] as number;
        if (k < 0) nullable = true;
        else seen[k] = 1;
      }
      const categories = c.dictionary.filter((_, k) => seen[k] === 1);
      return { name: c.name, type: "string", nullable, categories };
    }
    let min = Infinity;
    let max = -Infinity;
    let nullable = false;
    let integral = true;
    for (let i = 0; i < frame.nRows; i++) {
      const v = c.values[i] as number;
      if (v !== v) {
        nullable = true;
        continue;
      }
      if (v < min) min = v;
      if (v > max) max = v;
      if (integral && !Number.isInteger(v)) integral = false;
    }
    const type: SignatureType = integral && min <= max ? "long" : "double";
    return min <= max ? { name: c.name, type, nullable, range: { min, max } } : { name: c.name, type, nullable };
  });
  return { inputs, outputs };
}
