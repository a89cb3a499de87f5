import type { Metric, Param, Tag } from "./types.js";
import { specError } from "../spec-fields.js";

/** MLflow's limits (mlflow/utils/validation.py). */
export const LIMITS = {
  keyLength: 250,
  paramValueLength: 6000,
  runTagValueLength: 8000,
  experimentTagValueLength: 5000,
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchTotal: 1000,
} as const;

const KEY_PATTERN = /^[/\w.\- :]*$/;

/** Metric, param and tag names: MLflow's character set, at most 250 chars, no `..` or leading `/`. */
export function checkKey(kind: "metric" | "param" | "tag", key: unknown): string {
  const field = `${kind} key`;
  if (typeof key !== "string" || key === "") throw specError(field, key, "must be a non-empty string");
  if (key.length > LIMITS.keyLength) throw specError(field, key, `must be at most ${LIMITS.keyLength} characters`);
  if (!KEY_PATTERN.test(key)) {
    throw specError(
      field,
      key,
      "may contain only alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)",
    );
  }
  if (key.startsWith("/") || key.split("/").some((p) => p === "..")) {
    throw specError(field, key, "must be a relative path without '..' components");
  }
  return key;
}

export function checkParam(p: Param): void {
  checkKey("param", p.key);
  if (typeof p.value !== "string") throw specError(`param ${p.key} value`, p.value, "must be a string");
  if (p.value.length > LIMITS.paramValueLength) {
    throw specError(
      `param ${p.key} value`,
      `${p.value.slice(0, 40)}…`,
      `must be at most ${LIMITS.paramValueLength} characters (got ${p.value.length})`,
    );
  }
}

export function checkTag(t: Tag, maxValue: number = LIMITS.runTagValueLength): void {
  checkKey("tag", t.key);
  if (typeof t.value !== "string") throw specError(`tag ${t.key} value`, t.value, "must be a string");
  if (t.value.length > maxValue) {
    throw specError(
      `tag ${t.key} value`,
      `${t.value.slice(0, 40)}…`,
      `must be at most ${maxValue} characters (got ${t.value.length})`,
    );
  }
}

export function checkMetric(m: Metric): void {
  checkKey("metric", m.key);
  if (typeof m.value !== "number") throw specError(`metric ${m.key} value`, m.value, "must be a number");
  if (!Number.isSafeInteger(m.timestamp))
    throw specError(`metric ${m.key} timestamp`, m.timestamp, "must be an integer (epoch ms)");
  if (!Number.isSafeInteger(m.step)) throw specError(`metric ${m.key} step`, m.step, "must be an integer");
}

export function checkBatchSizes(metrics: number, params: number, tags: number): void {
  if (metrics > LIMITS.batchMetrics)
    throw specError("metrics", metrics, `a batch may hold at most ${LIMITS.batchMetrics} metrics`);
  if (params > LIMITS.batchParams)
    throw specError("params", params, `a batch may hold at most ${LIMITS.batchParams} params`);
  if (tags > LIMITS.batchTags) throw specError("tags", tags, `a batch may hold at most ${LIMITS.batchTags} tags`);
  const total = metrics + params + tags;
  if (total > LIMITS.batchTotal)
    throw specError("batch", total, `a batch may hold at most ${LIMITS.batchTotal} metrics, params and tags in all`);
}

export function checkName(field: string, value: unknown, max = 256): string {
  if (typeof value !== "string" || value.trim() === "") throw specError(field, value, "must be a non-empty string");
  if (value.length > max) throw specError(field, value, `must be at most ${max} characters`);
  return value;
}

/** MLflow's latest-value rule: larger step wins, then larger timestamp, then larger value. */
export function isNewer(
  a: { step: number; timestamp: number; value: number },
  b: { step: number; timestamp: number; value: number },
): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value;
}
