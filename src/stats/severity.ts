/**
 * Drift severity: the seed's PSI bands, and the matching KS / χ² p-value levels. A column's
 * severity is the worse of its PSI band and (when its test has one) its p-value level.
 */
import { SEVERITIES, type Severity } from "../wire/index.js";

export type { Severity } from "../wire/index.js";

/** PSI < 0.10 stable, 0.10–0.20 minor, 0.20–0.25 moderate, > 0.25 major. */
export function psiSeverity(psi: number): Severity {
  if (psi < 0.1) return "stable";
  if (psi < 0.2) return "minor";
  if (psi <= 0.25) return "moderate";
  return "major";
}

/** p ≥ 0.05 stable, 0.01 ≤ p < 0.05 minor, 0.001 ≤ p < 0.01 moderate, p < 0.001 major. */
export function pValueSeverity(p: number): Severity {
  if (p >= 0.05) return "stable";
  if (p >= 0.01) return "minor";
  if (p >= 0.001) return "moderate";
  return "major";
}

export function worseSeverity(a: Severity, b: Severity): Severity {
  // SEVERITIES runs from the mildest to the worst.
  return SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b;
}

export function columnSeverity(psi: number | null, pValue: number | null): Severity {
  const s = psi === null ? "stable" : psiSeverity(psi);
  return pValue === null ? s : worseSeverity(s, pValueSeverity(pValue));
}
