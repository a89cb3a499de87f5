import type { Frame } from "../../data/index.js";
import { InvalidParameterError } from "../../errors.js";
import type { LinearModelBody } from "../linear/train.js";

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
  body.terms.forEach((t, j) => {
    const col = frame.columns.find((c) => c.name === t.name);
    if (!col) {
      throw new InvalidParameterError(`input column "${t.name}" is missing: the model needs every signature input`, {
        details: { field: t.name, rule: "required model input" },
      });
    }
    if (t.kind === "numeric") {
      if (col.kind !== "numeric") {
        throw new InvalidParameterError(`input column "${t.name}" is a string column: the model expects numbers`, {
          details: { field: t.name, rule: "numeric model input" },
        });
      }
      const k = t.coef / t.scale;
      // Adding 0 writes an imputed value's nothing as 0, not -0.
      const filled = t.coef * ((t.impute - t.mean) / t.scale) + 0;
      for (let i = 0; i < n; i++) {
        const v = col.values[i] as number;
        out[i * width + j] = v === v ? k * (v - t.mean) : filled;
      }
      return;
    }
    if (col.kind !== "categorical") {
      throw new InvalidParameterError(`input column "${t.name}" is numeric: the model expects categories`, {
        details: { field: t.name, rule: "categorical model input" },
      });
    }
    const index = new Map(t.dictionary.map((s, k) => [s, k]));
    const lookup = Float64Array.from(col.dictionary, (s) => {
      const m = index.get(s);
      return m === undefined ? 0 : (t.coef[m] as number);
    });
    for (let i = 0; i < n; i++) {
      const k = col.codes[i] as number;
      out[i * width + j] = k >= 0 ? (lookup[k] as number) : 0;
    }
  });
  for (let i = 0; i < n; i++) out[i * width + width - 1] = body.intercept;
  return out;
}
