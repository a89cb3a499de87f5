import { describe, expect, it } from "vitest";
import type { Signature } from "../../src/data/signature.js";
import { InvalidParameterError } from "../../src/errors.js";
import { concatFrames } from "../../src/serving/batcher.js";
import { tableFromRecords } from "../../src/serving/input-table.js";
import { compileValidator } from "../../src/serving/validator.js";
import { thrown } from "../keel-error.js";

const signature: Signature = {
  inputs: [
    { name: "credit_score", type: "long", nullable: false, range: { min: 300, max: 850 } },
    { name: "dti", type: "double", nullable: false, range: { min: 0, max: 1 } },
    { name: "employment_years", type: "double", nullable: true },
    { name: "first_loan", type: "boolean", nullable: false },
    { name: "home_ownership", type: "string", nullable: false, categories: ["RENT", "OWN", "MORTGAGE"] },
  ],
  outputs: [{ name: "score", type: "double", nullable: false }],
};
const validate = compileValidator(signature);
const good = { credit_score: 640, dti: 0.42, employment_years: null, first_loan: true, home_ownership: "OWN" };

function rejection(record: Record<string, unknown>): InvalidParameterError {
  return thrown(() => validate(tableFromRecords([record], "records")), InvalidParameterError);
}

describe("compileValidator", () => {
  it("builds typed columns, null masks and the declared dictionary", () => {
    const frame = validate(
      tableFromRecords([good, { ...good, employment_years: 3.5, first_loan: false, home_ownership: "RENT" }], "r"),
    );
    expect(frame.nRows).toBe(2);
    const [credit, , emp, first, home] = frame.columns;
    expect(credit?.kind === "numeric" && Array.from(credit.values)).toEqual([640, 640]);
    expect(emp?.kind === "numeric" && Array.from(emp.valid ?? [])).toEqual([0, 1]);
    expect(emp?.kind === "numeric" && emp.values[1]).toBe(3.5);
    expect(first?.kind === "numeric" && Array.from(first.values)).toEqual([1, 0]);
    expect(home?.kind === "categorical" && Array.from(home.codes)).toEqual([1, 0]);
    expect(home?.kind === "categorical" && home.dictionary).toEqual(["RENT", "OWN", "MORTGAGE"]);
  });

  it("accepting unseen categories, keeps the declared codes and the signature's list as the shared dictionary", () => {
    const lenient = compileValidator(signature, { enforceCategories: false });
    const home = (records: Record<string, unknown>[]) => {
      const col = lenient(tableFromRecords(records, "r")).columns[4];
      if (col?.kind !== "categorical") throw new Error("home_ownership is not categorical");
      return col;
    };
    const a = home([{ ...good, home_ownership: "MORTGAGE" }, good]);
    const b = home([{ ...good, home_ownership: "RENT" }]);
    expect(Array.from(a.codes)).toEqual([2, 1]);
    // The same array, not an equal one: stacking requests then copies codes without remapping.
    expect(a.dictionary).toBe(signature.inputs[4]?.categories);
    expect(b.dictionary).toBe(a.dictionary);
    // Unseen values are coded after the declared ones, in order of appearance.
    const c = home([{ ...good, home_ownership: "CASTLE" }, good, { ...good, home_ownership: "BOAT" }]);
    expect(Array.from(c.codes)).toEqual([3, 1, 4]);
    expect(c.dictionary).toEqual(["RENT", "OWN", "MORTGAGE", "CASTLE", "BOAT"]);
    const stacked = concatFrames(
      [a, b, c].map((col) => ({ nRows: col.codes.length, columns: [col] })),
      6,
    ).columns[0];
    if (stacked?.kind !== "categorical") throw new Error("stacked column is not categorical");
    const labels = Array.from(stacked.codes, (k) => stacked.dictionary[k]);
    expect(labels).toEqual(["MORTGAGE", "OWN", "RENT", "CASTLE", "OWN", "BOAT"]);
  });

  it("names the field, the value and the rule", () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { dti: 0.1, first_loan: true, home_ownership: "OWN" },
        "credit_score",
        "is a required input of type long and is missing",
      ],
      [{ ...good, credit_score: "640" }, "credit_score", "must be a finite number"],
      [{ ...good, credit_score: 640.5 }, "credit_score", "must be an integer"],
      [{ ...good, credit_score: 900 }, "credit_score", "must be within the declared range [300, 850]"],
      [{ ...good, dti: null }, "dti", "is required"],
      [{ ...good, first_loan: 1 }, "first_loan", "must be a boolean"],
      [
        { ...good, home_ownership: "CASTLE" },
        "home_ownership",
        'must be one of the declared categories ["RENT","OWN","MORTGAGE"]',
      ],
      [{ ...good, home_ownership: 3 }, "home_ownership", "must be a string"],
    ];
    for (const [record, field, rule] of cases) {
      const e = rejection(record);
      expect(e.details?.field).toBe(field);
      expect(e.message).toContain(rule);
      expect(e.status).toBe(400);
    }
    expect(rejection({ ...good, credit_score: 900 }).message).toBe(
      "credit_score = 900: must be within the declared range [300, 850]",
    );
  });

  it("reports the row when a batch holds several", () => {
    try {
      validate(tableFromRecords([good, good, { ...good, dti: 2 }], "records"));
      expect.unreachable();
    } catch (e) {
      expect((e as InvalidParameterError).details?.field).toBe("dti[2]");
    }
  });

  it("parses CSV text by declared type", () => {
    const frame = validate({
      nRows: 1,
      textual: true,
      columns: new Map([
        ["credit_score", ["700"]],
        ["dti", ["0.1"]],
        ["employment_years", [""]],
        ["first_loan", ["true"]],
        ["home_ownership", ["MORTGAGE"]],
      ]),
    });
    const [credit, , emp, first] = frame.columns;
    expect(credit?.kind === "numeric" && credit.values[0]).toBe(700);
    expect(emp?.kind === "numeric" && emp.valid?.[0]).toBe(0);
    expect(first?.kind === "numeric" && first.values[0]).toBe(1);
  });
});
