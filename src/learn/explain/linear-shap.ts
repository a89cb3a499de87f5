import type { Frame } from "../../data/index.js";
import { InvalidParameterError } from "../../errors.js";
import { termContributions, type LinearModelBody } from "../linear/train.js";

/**
 * Exact SHAP values of keel's linear model, in margin space (log-odds for the binary task).
 *
 * A linear model's Shapley values against a background are `w_j (x_j − E[x_j])`. The model stores,
 * per numeric input, the training mean (its missing values were imputed with that mean, so the
 * standardised column has mean 0): the contribution is `coef / scale · (x − mean)`, and 0 for a
 * missing value. It does not store how often each category occurred, so for a categorical input
 * the background is "no category" (what a null or unknown category scores as): the contribution is
 * the row's category coefficient. The bias is then the intercept — the margin of a row with every
 * numeric input at its training mean and no category — and each row's values sum to its margin.
 */
export function linearShap(
  body: LinearModelBody,
  frame: Frame,
  out: Float64Array = new Float64Array(frame.nRows * (body.terms.length + 1)),
): Float64Array {
  const n = frame.nRows;
  const width = body.terms.length + 1;
  if (out.length < n * width) {
    throw new InvalidParameterError(
      `linear SHAP: out.length = ${out.length}: must hold nRows × (terms + 1) = ${n * width}`,
      {
        details: { field: "out.length", value: out.length, rule: `≥ ${n * width}` },
      },
    );
  }
  body.terms.forEach((t, j) => termContributions(t, frame, out, width, j));
  for (let i = 0; i < n; i++) out[i * width + width - 1] = body.intercept;
  return out;
}
