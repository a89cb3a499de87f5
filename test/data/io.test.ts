import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { categoricalFromStrings, numericColumn, readTable, writeTable } from "../../src/data/index.js";
import type { Frame } from "../../src/data/index.js";
import { InvalidParameterError, NotFoundError } from "../../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "keel-data-"));

const frame: Frame = {
  nRows: 4,
  columns: [
    numericColumn("x", Float64Array.from([1.5, NaN, -3, 1e-9])),
    categoricalFromStrings("s", ["b", null, "a", "b"]),
    numericColumn("n", Float64Array.from([1, 2, 3, 4])),
  ],
};

describe("readTable / writeTable", () => {
  for (const ext of ["csv", "parquet"]) {
    it(`round-trips values, strings and nulls through ${ext}`, async () => {
      const path = join(dir, `t.${ext}`);
      await writeTable(frame, path);
      const back = await readTable(path);
      expect(back.nRows).toBe(4);
      expect(back.columns.map((c) => c.name)).toEqual(["x", "s", "n"]);
      const [x, s, n] = back.columns;
      if (x?.kind !== "numeric" || s?.kind !== "categorical" || n?.kind !== "numeric") throw new Error("kinds");
      expect(Array.from(x.values)).toEqual([1.5, NaN, -3, 1e-9]);
      expect(Array.from(x.valid ?? [])).toEqual([1, 0, 1, 1]);
      expect(s.dictionary).toEqual(["a", "b"]);
      expect(Array.from(s.codes)).toEqual([1, -1, 0, 1]);
      expect(Array.from(s.valid ?? [])).toEqual([1, 0, 1, 1]);
      expect(Array.from(n.values)).toEqual([1, 2, 3, 4]);
      expect(n.valid).toBeUndefined();
    });
  }

  it("infers types from messy CSV: empty cells are nulls, yes/no stays text", async () => {
    const path = join(dir, "messy.csv");
    writeFileSync(path, "id,amount,flag,city\nA1,10,yes,Oslo\nA2,,no,\nA3,2.5,yes,Rome\n");
    const f = await readTable(path);
    const byName = Object.fromEntries(f.columns.map((c) => [c.name, c]));
    expect(byName.amount?.kind).toBe("numeric");
    expect(byName.flag?.kind).toBe("categorical");
    const city = byName.city;
    if (city?.kind !== "categorical") throw new Error("city");
    expect(Array.from(city.codes)).toEqual([0, -1, 1]);
    const amount = byName.amount;
    if (amount?.kind !== "numeric") throw new Error("amount");
    expect(Number.isNaN(amount.values[1])).toBe(true);
  });

  it("reads many chunks of few- and many-valued strings and numbers back to the values written", async () => {
    // Past one DuckDB chunk (2048 rows) and past the few-values limit: both string paths are used.
    const n = 12_345;
    const grades = ["A", "B", "C", "é", "D'quote", ""];
    const rows = ["id,grade,amount,note"];
    const want: { id: string; grade: string | null; amount: number }[] = [];
    for (let i = 0; i < n; i++) {
      const grade = i % 7 === 0 ? null : (grades[(i * 31) % grades.length] as string);
      const amount = i % 11 === 0 ? NaN : ((i * 7919) % 1000) / 8;
      want.push({ id: `app-${(i * 104_729) % 1_000_003}`, grade, amount });
      rows.push(`${want[i]!.id},${grade === null ? "" : `"${grade}"`},${Number.isNaN(amount) ? "" : amount},x`);
    }
    const path = join(dir, "chunks.csv");
    writeFileSync(path, rows.join("\n") + "\n");
    const f = await readTable(path);
    expect(f.nRows).toBe(n);
    const [id, grade, amount] = f.columns;
    if (id?.kind !== "categorical" || grade?.kind !== "categorical" || amount?.kind !== "numeric")
      throw new Error("kinds");
    const decode = (c: typeof id, i: number): string | null => {
      const k = c.codes[i] as number;
      return k < 0 ? null : (c.dictionary[k] as string);
    };
    expect(id.dictionary).toEqual([...new Set(want.map((w) => w.id))].sort());
    for (let i = 0; i < n; i++) {
      const w = want[i]!;
      expect(decode(id, i)).toBe(w.id);
      // DuckDB reads a quoted empty string as null, as an empty cell.
      expect(decode(grade, i)).toBe(w.grade === "" ? null : w.grade);
      expect(Object.is(amount.values[i], w.amount) || amount.values[i] === w.amount).toBe(true);
      expect(amount.valid?.[i] ?? 1).toBe(Number.isNaN(w.amount) ? 0 : 1);
    }
  });

  it("reads the real lending_club data with its types", async () => {
    const f = await readTable("test/fixtures/data/lending_club.csv");
    expect(f.nRows).toBe(9857);
    const kinds = Object.fromEntries(f.columns.map((c) => [c.name, c.kind]));
    expect(kinds).toMatchObject({
      funded_amnt: "numeric",
      term: "categorical",
      int_rate: "numeric",
      addr_state: "categorical",
      Class: "categorical",
    });
    const sub = f.columns.find((c) => c.name === "sub_grade");
    if (sub?.kind !== "categorical") throw new Error("sub_grade");
    expect(sub.dictionary.length).toBe(35);
    expect(sub.dictionary[0]).toBe("A1");
  });

  it("names the file and the rule on bad input", async () => {
    await expect(readTable(join(dir, "missing.csv"))).rejects.toBeInstanceOf(NotFoundError);
    await expect(readTable(join(dir, "t.xlsx"))).rejects.toBeInstanceOf(NotFoundError);
    writeFileSync(join(dir, "t.xlsx"), "x");
    await expect(readTable(join(dir, "t.xlsx"))).rejects.toThrow(/extension ".xlsx"/);
    await expect(readTable(join(dir, "t.xlsx"))).rejects.toBeInstanceOf(InvalidParameterError);
  });
});
