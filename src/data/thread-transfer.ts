import type { CsvPart, PartColumn, PartOutcome } from "./csv-reader.js";
import type { CategoricalColumn, Column, Frame } from "./frame.js";

/**
 * Frames and parsed parts as they cross to another thread. Structured clone copies an array of
 * strings value by value (200k identifiers cost ~90 ms on the two threads together) but one string
 * in one piece, so each list of strings travels as one string and their lengths; typed arrays are
 * transferred, not copied.
 */
export interface PackedStrings {
  readonly text: string;
  readonly lengths: Int32Array;
}

type PackedColumn =
  Exclude<Column, CategoricalColumn> | (Omit<CategoricalColumn, "dictionary"> & { dictionary: PackedStrings });
type PackedPartColumn = Omit<PartColumn, "strings"> & { strings: PackedStrings };

export interface PackedFrame {
  readonly nRows: number;
  readonly columns: readonly PackedColumn[];
  readonly identifiers?: readonly string[];
}

export type PackedPart = (Omit<CsvPart, "columns"> & { columns: PackedPartColumn[] }) | Exclude<PartOutcome, CsvPart>;

export function packStrings(values: readonly string[]): PackedStrings {
  const lengths = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) lengths[i] = (values[i] as string).length;
  return { text: values.join(""), lengths };
}

export function unpackStrings(packed: PackedStrings): string[] {
  const { text, lengths } = packed;
  const values = new Array<string>(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const end = at + (lengths[i] as number);
    values[i] = text.slice(at, end);
    at = end;
  }
  return values;
}

/** The buffers of `arrays` once each (columns may share one), to transfer. */
function buffersOf(arrays: readonly (ArrayBufferView | undefined)[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const a of arrays) if (a !== undefined) buffers.add(a.buffer as ArrayBuffer);
  return [...buffers];
}

/** The frame to post, and the buffers to transfer with it. */
export function packFrame(frame: Frame): { packed: PackedFrame; transfer: ArrayBuffer[] } {
  const columns = frame.columns.map((c): PackedColumn =>
    c.kind === "categorical" ? { ...c, dictionary: packStrings(c.dictionary) } : c,
  );
  const transfer = buffersOf(
    columns.flatMap((c): (ArrayBufferView | undefined)[] =>
      c.kind === "categorical" ? [c.codes, c.valid, c.dictionary.lengths] : [c.values, c.valid],
    ),
  );
  return { packed: { ...frame, columns }, transfer };
}

export function unpackFrame(packed: PackedFrame): Frame {
  const columns = packed.columns.map((c): Column =>
    c.kind === "categorical" ? { ...c, dictionary: unpackStrings(c.dictionary) } : c,
  );
  return { ...packed, columns };
}

/** The part outcome to post, and the buffers to transfer with it. */
export function packPart(part: PartOutcome): { packed: PackedPart; transfer: ArrayBuffer[] } {
  if (part === undefined || !("columns" in part)) return { packed: part, transfer: [] };
  const columns = part.columns.map((c): PackedPartColumn => ({ ...c, strings: packStrings(c.strings) }));
  return {
    packed: { ...part, columns },
    transfer: buffersOf(columns.flatMap((c) => [c.values, c.codes, c.strings.lengths])),
  };
}

export function unpackPart(packed: PackedPart): PartOutcome {
  if (packed === undefined || !("columns" in packed)) return packed;
  return { ...packed, columns: packed.columns.map((c) => ({ ...c, strings: unpackStrings(c.strings) })) };
}
