/** A training window: which rows of a timestamped source a run trains on (parsed with the definition). */
import { specError, specObject, specRequired, specString } from "../spec-fields.js";

/** Rows whose `column` lies in [now − last, now): `last` is `90d` (days) or `6mo` (calendar months, UTC). */
export interface TrainingWindow {
  readonly column: string;
  readonly last: string;
}

const LAST = /^([1-9][0-9]{0,3})(d|mo)$/;

/** `defaultColumn`: the column a window may leave unnamed (a training set's entity event time). */
export function parseTrainingWindow(json: unknown, defaultColumn?: string): TrainingWindow {
  const o = specObject(json, "window", ["column", "last"]);
  const column = specRequired(specString(o, "column", "window") ?? defaultColumn, "window.column");
  const last = specRequired(specString(o, "last", "window"), "window.last");
  if (!LAST.test(last)) throw specError("window.last", last, "must be a number of days or months, such as 90d or 6mo");
  return { column, last };
}

/** Where the window starts for a run at `now` (epoch ms). */
export function windowStart(last: string, now: number): number {
  const m = LAST.exec(last);
  if (m === null) throw specError("window.last", last, "must be a number of days or months, such as 90d or 6mo");
  const n = Number(m[1]);
  if (m[2] === "d") return now - n * 86_400_000;
  const d = new Date(now);
  return Date.UTC(
    d.getUTCFullYear(),
    d.getUTCMonth() - n,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}
