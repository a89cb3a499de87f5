/**
 * Agreement between two raters on the same items (a judge and a person): the share of items they
 * label alike, and Cohen's kappa, that share corrected for chance agreement, as sklearn's
 * `cohen_kappa_score` (unweighted). Labels are categories compared as given.
 */
import { specError } from "../spec-fields.js";

export interface Agreement {
  readonly n: number;
  /** Share of items with the same label. */
  readonly agreement: number;
  /** (p_o − p_e) / (1 − p_e); NaN when chance agreement is 1 (both raters used one label), as sklearn. */
  readonly kappa: number;
}

export function cohenKappa(a: readonly (string | number)[], b: readonly (string | number)[]): Agreement {
  if (a.length !== b.length)
    throw specError("labels", `${a.length} and ${b.length}`, "both raters must label the same items");
  const n = a.length;
  if (n === 0) throw specError("labels", 0, "needs at least one labelled item");
  const countA = new Map<string | number, number>();
  const countB = new Map<string | number, number>();
  let same = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x === y) same++;
    countA.set(x, (countA.get(x) ?? 0) + 1);
    countB.set(y, (countB.get(y) ?? 0) + 1);
  }
  let expected = 0;
  for (const [label, ca] of countA) expected += (ca / n) * ((countB.get(label) ?? 0) / n);
  const observed = same / n;
  return { n, agreement: observed, kappa: expected === 1 ? Number.NaN : (observed - expected) / (1 - expected) };
}
