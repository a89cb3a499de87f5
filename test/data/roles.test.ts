import { describe, expect, it } from "vitest";
import {
  assignRoles,
  categoricalFromStrings,
  inferSignature,
  numericColumn,
  prepareTarget,
  readTable,
} from "../../src/data/index.js";
import type { Frame } from "../../src/data/index.js";
import { InvalidParameterError } from "../../src/errors.js";

const lending = await readTable("test/fixtures/data/lending_club.csv");
const churn = await readTable("test/fixtures/data/mlc_churn.csv");

function withColumns(f: Frame, extra: Frame["columns"]): Frame {
  return { nRows: f.nRows, columns: [...extra, ...f.columns] };
}

describe("prepareTarget", () => {
  it("takes the minority class of a string target as positive", () => {
    const t = prepareTarget(lending, "Class");
    expect(t.task).toBe("binary");
    expect(t.positiveClass).toBe("bad");
    expect(t.negativeClass).toBe("good");
    // 517 of 9857 loans are bad (counted with: grep -c '"bad"$').
    expect(t.y.reduce((a, b) => a + b, 0)).toBe(517);
    const c = prepareTarget(churn, "churn");
    expect(c.positiveClass).toBe("yes");
    expect(c.y.reduce((a, b) => a + b, 0)).toBe(707);
  });

  it("lets --positive override the default", () => {
    const t = prepareTarget(lending, "Class", { positive: "good" });
    expect(t.positiveClass).toBe("good");
    expect(t.y.reduce((a, b) => a + b, 0)).toBe(9857 - 517);
    expect(() => prepareTarget(lending, "Class", { positive: "ugly" })).toThrow(/positive = "ugly".*bad, good/);
  });

  it("treats a 0/1 numeric target as binary and others as regression", () => {
    const f: Frame = {
      nRows: 4,
      columns: [
        numericColumn("y", Float64Array.from([0, 1, 1, 0])),
        numericColumn("v", Float64Array.from([0.5, 2, 3, 1])),
      ],
    };
    const b = prepareTarget(f, "y");
    expect(b.task).toBe("binary");
    expect(Array.from(b.y)).toEqual([0, 1, 1, 0]);
    expect(Array.from(prepareTarget(f, "y", { positive: "0" }).y)).toEqual([1, 0, 0, 1]);
    expect(prepareTarget(f, "v").task).toBe("regression");
  });

  it("rejects null labels, three classes and unknown columns", () => {
    const f: Frame = {
      nRows: 3,
      columns: [categoricalFromStrings("y", ["a", null, "b"]), categoricalFromStrings("z", ["a", "b", "c"])],
    };
    expect(() => prepareTarget(f, "y")).toThrow(/row 1 has no value/);
    expect(() => prepareTarget(f, "z")).toThrow(/exactly 2 classes, found 3/);
    expect(() => prepareTarget(f, "nope")).toThrow(InvalidParameterError);
  });
});

describe("assignRoles", () => {
  it("finds no id column in the real data sets and keeps every other column", () => {
    const r = assignRoles(lending, "Class");
    expect(r.idColumn).toBeUndefined();
    expect(r.dropped).toEqual([]);
    expect(r.features.length).toBe(lending.columns.length - 1);
    const c = assignRoles(churn, "churn");
    expect(c.idColumn).toBeUndefined();
    expect(c.features).toContain("state");
  });

  it("detects a distinct string per row, and *_id numbers, as ids", () => {
    const n = churn.nRows;
    const key = categoricalFromStrings(
      "customer",
      Array.from({ length: n }, (_, i) => `C-${(i * 7919) % 100003}`),
    );
    const rowId = numericColumn(
      "account_id",
      Float64Array.from({ length: n }, (_, i) => 1000 + i),
    );
    const r = assignRoles(withColumns(churn, [key, rowId]), "churn");
    expect(r.idColumn).toBe("customer");
    expect(r.dropped).toEqual([
      { name: "customer", reason: "id-like" },
      { name: "account_id", reason: "id-like" },
    ]);
    expect(r.features).not.toContain("account_id");
  });

  it("keeps continuous numbers that happen to be distinct, and honours --id-column / --exclude", () => {
    const n = churn.nRows;
    const cont = numericColumn(
      "score_raw",
      Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1000),
    );
    const r = assignRoles(withColumns(churn, [cont]), "churn", { idColumn: "state", exclude: ["area_code"] });
    expect(r.features).toContain("score_raw");
    expect(r.idColumn).toBe("state");
    expect(r.features).not.toContain("state");
    expect(r.dropped).toEqual([{ name: "area_code", reason: "excluded" }]);
    expect(() => assignRoles(churn, "churn", { exclude: ["nope"] })).toThrow(/exclude = "nope"/);
    expect(() => assignRoles(churn, "churn", { idColumn: "churn" })).toThrow(/cannot be the target/);
  });
});

describe("inferSignature", () => {
  it("records types, nullability, ranges and category sets", () => {
    const sig = inferSignature(lending);
    const byName = Object.fromEntries(sig.inputs.map((c) => [c.name, c]));
    expect(byName.funded_amnt).toEqual({
      name: "funded_amnt",
      type: "long",
      nullable: false,
      range: { min: 1000, max: 40000 },
    });
    expect(byName.int_rate).toEqual({
      name: "int_rate",
      type: "double",
      nullable: false,
      range: { min: 5.32, max: 28.99 },
    });
    expect(byName.term).toEqual({ name: "term", type: "string", nullable: false, categories: ["term_36", "term_60"] });
    const f: Frame = {
      nRows: 3,
      columns: [numericColumn("x", Float64Array.from([1, NaN, 2.5])), categoricalFromStrings("s", ["a", null, "a"])],
    };
    expect(inferSignature(f).inputs).toEqual([
      { name: "x", type: "double", nullable: true, range: { min: 1, max: 2.5 } },
      { name: "s", type: "string", nullable: true, categories: ["a"] },
    ]);
  });
});
