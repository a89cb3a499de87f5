/**
 * Five-field cron schedules (minute hour day-of-month month day-of-week) with `*`, `*\/n`, ranges
 * `a-b`, stepped ranges `a-b/n` and lists `a,b,c`, evaluated in UTC. As in Vixie cron, when both
 * day-of-month and day-of-week are restricted a day matches if either does; day-of-week 7 is Sunday.
 */
import { InvalidParameterError } from "../errors.js";

export interface CronSchedule {
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday. */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day-of-week", min: 0, max: 7 },
] as const;

function cronError(field: string, expression: string, value: string, rule: string): InvalidParameterError {
  return new InvalidParameterError(`${field} cron ${JSON.stringify(expression)}: ${JSON.stringify(value)} ${rule}`, {
    details: { field, value: expression, rule },
  });
}

function parseField(text: string, spec: (typeof FIELDS)[number], expression: string, field: string): Set<number> {
  const out = new Set<number>();
  const where = `(${spec.name} field)`;
  const num = (s: string): number => {
    if (!/^\d+$/.test(s)) throw cronError(field, expression, s, `is not a number ${where}`);
    const n = Number(s);
    if (n < spec.min || n > spec.max)
      throw cronError(field, expression, s, `is outside ${spec.min}-${spec.max} ${where}`);
    return n;
  };
  for (const part of text.split(",")) {
    if (part === "") throw cronError(field, expression, text, `has an empty list item ${where}`);
    const [range, stepText, extra] = part.split("/");
    if (range === undefined || extra !== undefined)
      throw cronError(field, expression, part, `has more than one '/' ${where}`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1)
        throw cronError(field, expression, part, `needs a positive step after '/' ${where}`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === "*") {
      lo = spec.min;
      hi = spec.max;
    } else if (range.includes("-")) {
      const [a, b, more] = range.split("-");
      if (a === undefined || b === undefined || more !== undefined)
        throw cronError(field, expression, part, `is not a range a-b ${where}`);
      lo = num(a);
      hi = num(b);
      if (lo > hi) throw cronError(field, expression, part, `is a range whose start exceeds its end ${where}`);
    } else {
      lo = num(range);
      // `5/15` means from 5 to the end in steps of 15, as in Vixie cron.
      hi = stepText === undefined ? lo : spec.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a five-field expression; `field` names the setting in error messages (e.g. `policy.schedule`). */
export function parseCron(expression: string, field = "schedule"): CronSchedule {
  if (typeof expression !== "string")
    throw cronError(field, String(expression), String(expression), "must be a string");
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw cronError(
      field,
      expression,
      expression,
      `must have 5 fields (minute hour day-of-month month day-of-week), found ${expression.trim() === "" ? 0 : parts.length}`,
    );
  }
  const [minutes, hours, daysOfMonth, months, dow] = FIELDS.map((spec, i) =>
    parseField(parts[i] ?? "", spec, expression, field),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (dow.has(7)) {
    dow.delete(7);
    dow.add(0);
  }
  return {
    expression,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek: dow,
    dayOfMonthRestricted: !(parts[2] ?? "").startsWith("*"),
    dayOfWeekRestricted: !(parts[4] ?? "").startsWith("*"),
  };
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = s.daysOfMonth.has(d.getUTCDate());
  const dow = s.daysOfWeek.has(d.getUTCDay());
  if (s.dayOfMonthRestricted && s.dayOfWeekRestricted) return dom || dow;
  return dom && dow;
}

const MINUTE = 60_000;
/** Far enough for any satisfiable schedule (29 February on a given weekday recurs within 28 years). */
const SEARCH_YEARS = 30;

/**
 * The first time strictly after `after` (epoch ms) at which the schedule fires, in epoch ms (UTC,
 * whole minutes). Skips non-matching months, days and hours at once, so it is fast for sparse
 * schedules. Throws InvalidParameterError for a schedule that never fires (e.g. 31 February).
 */
export function nextCronTime(schedule: CronSchedule, after: number): number {
  const d = new Date(Math.floor(after / MINUTE) * MINUTE + MINUTE);
  const limit = d.getUTCFullYear() + SEARCH_YEARS;
  while (d.getUTCFullYear() <= limit) {
    if (!schedule.months.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(schedule, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!schedule.hours.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!schedule.minutes.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return d.getTime();
  }
  throw new InvalidParameterError(`cron ${JSON.stringify(schedule.expression)} never fires`, {
    details: { value: schedule.expression, rule: "must match at least one date" },
  });
}
