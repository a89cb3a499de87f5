import { describe, expect, it } from "vitest";
import { columnSeverity, psiSeverity, pValueSeverity, worseSeverity } from "../../src/stats/severity.js";

describe("severity bands", () => {
  it("PSI: < 0.10 stable, 0.10-0.20 minor, 0.20-0.25 moderate, > 0.25 major", () => {
    expect(psiSeverity(0)).toBe("stable");
    expect(psiSeverity(0.0999)).toBe("stable");
    expect(psiSeverity(0.1)).toBe("minor");
    expect(psiSeverity(0.1999)).toBe("minor");
    expect(psiSeverity(0.2)).toBe("moderate");
    expect(psiSeverity(0.25)).toBe("moderate");
    expect(psiSeverity(0.2501)).toBe("major");
  });
  it("p-value levels", () => {
    expect(pValueSeverity(0.5)).toBe("stable");
    expect(pValueSeverity(0.05)).toBe("stable");
    expect(pValueSeverity(0.049)).toBe("minor");
    expect(pValueSeverity(0.009)).toBe("moderate");
    expect(pValueSeverity(0.0009)).toBe("major");
  });
  it("a column takes the worse of its PSI band and p-value level", () => {
    expect(columnSeverity(0.05, 0.0001)).toBe("major");
    expect(columnSeverity(0.3, 0.9)).toBe("major");
    expect(columnSeverity(0.15, 0.02)).toBe("minor");
    expect(columnSeverity(0.12, null)).toBe("minor");
    expect(columnSeverity(null, null)).toBe("stable");
  });
  it("the worse of two severities, in either order", () => {
    expect(worseSeverity("stable", "minor")).toBe("minor");
    expect(worseSeverity("major", "moderate")).toBe("major");
    expect(worseSeverity("moderate", "minor")).toBe("moderate");
    expect(worseSeverity("stable", "stable")).toBe("stable");
  });
});
