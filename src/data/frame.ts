/**
 * Columnar tables. A column holds one typed array of values and an optional validity mask
 * (1 = present, 0 = null). Categorical columns are dictionary-encoded: `codes[i]` indexes
 * `dictionary`, and a null has code -1 (its mask byte is 0 too).
 */
export interface NumericColumn {
  readonly kind: "numeric";
  readonly name: string;
  /** Null slots hold NaN, so kernels that only need "is missing" can test `v !== v`. */
  readonly values: Float64Array;
  readonly valid?: Uint8Array;
}

export interface CategoricalColumn {
  readonly kind: "categorical";
  readonly name: string;
  readonly codes: Int32Array;
  readonly dictionary: readonly string[];
  readonly valid?: Uint8Array;
}

export type Column = NumericColumn | CategoricalColumn;

export interface Frame {
  readonly nRows: number;
  readonly columns: readonly Column[];
  /**
   * Text columns the reader left out as identifiers (every row a distinct value), when asked to
   * (ReadOptions.skipIdentifiers): their names only.
   */
  readonly identifiers?: readonly string[];
}

/** Fewest rows in which a column of distinct values counts as an identifier (see isIdLike). */
export const IDENTIFIER_MIN_ROWS = 20;

export function column(frame: Frame, name: string): Column | undefined {
  return frame.columns.find((c) => c.name === name);
}
