/**
 * Binomial tail allowance: how many failures a failure rate p plausibly produces in n rows, so a
 * rule such as "at most 1 in 10,000 values outside the range" is tested as a rate, not as a count
 * that one unlucky value in a small batch exceeds.
 */
import { specError } from "../spec-fields.js";
import { logGamma } from "./special.js";

/**
 * The largest k with P(X ≥ k) ≥ alpha for X ~ Binomial(n, p): a one-sided binomial test at level
 * alpha rejects "the failure rate is at most p" exactly when more than k of n rows fail.
 * Sums the upper tail's probabilities from the top, from the mode up to where they are negligible.
 */
export function binomialAllowance(n: number, p: number, alpha: number): number {
  if (!(Number.isInteger(n) && n >= 0)) throw specError("n", n, "must be an integer ≥ 0");
  if (!(p >= 0 && p <= 1)) throw specError("p", p, "must be in [0, 1]");
  if (!(alpha > 0 && alpha <= 0.25)) throw specError("alpha", alpha, "must be > 0 and ≤ 0.25");
  if (p === 0 || n === 0) return 0;
  if (p === 1) return n;
  const logN = logGamma(n + 1);
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  const pmf = (j: number) => Math.exp(logN - logGamma(j + 1) - logGamma(n - j + 1) + j * logP + (n - j) * logQ);
  // P(X ≥ mode) > 1/4 ≥ alpha (Greenberg & Mohri 2014 for p ≥ 1/n; directly below), so the answer is at or above the mode.
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const terms: number[] = [];
  for (let j = mode; j <= n; j++) {
    const t = pmf(j);
    terms.push(t);
    if (j > mode && t < alpha * 1e-17) break;
  }
  let tail = 0;
  for (let i = terms.length - 1; i >= 0; i--) {
    tail += terms[i] as number;
    // A tail equal to alpha (n = 1, p = alpha) must count as reaching it despite rounding in exp/log.
    if (tail >= alpha * (1 - 1e-12)) return mode + i;
  }
  return mode;
}
