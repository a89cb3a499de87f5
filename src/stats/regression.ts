import { checkFinite, checkPair, type NumericArray } from "./classification.js";

export interface RegressionMetrics {
  readonly mae: number;
  readonly rmse: number;
  readonly r2: number;
}

/** MAE, RMSE and R² (R² as sklearn: 1 when the target is constant and predicted exactly, else 0 for a constant target). */
export function regressionMetrics(actual: NumericArray, predicted: NumericArray): RegressionMetrics {
  checkPair(actual, predicted, "predictions");
  checkFinite(actual, "actual");
  checkFinite(predicted, "predictions");
  const n = actual.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i] as number;
  mean /= n;
  let abs = 0;
  let sq = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i] as number;
    const d = a - (predicted[i] as number);
    abs += Math.abs(d);
    sq += d * d;
    tot += (a - mean) * (a - mean);
  }
  const r2 = tot === 0 ? (sq === 0 ? 1 : 0) : 1 - sq / tot;
  return { mae: abs / n, rmse: Math.sqrt(sq / n), r2 };
}
