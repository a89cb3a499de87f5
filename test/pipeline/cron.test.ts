import { describe, expect, it } from "vitest";
import { nextCronTime, parseCron } from "../../src/pipeline/cron.js";
import { thrown } from "../keel-error.js";

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, after: string) => new Date(nextCronTime(parseCron(expr), at(after))).toISOString();

const failure = (fn: () => unknown) => thrown(fn);

describe("parseCron", () => {
  it("expands steps, ranges, lists and Sunday as 7", () => {
    const s = parseCron("*/20 1-3,22 5/10 */4 1-5/2,7");
    expect([...s.minutes]).toEqual([0, 20, 40]);
    expect([...s.hours]).toEqual([1, 2, 3, 22]);
    expect([...s.daysOfMonth]).toEqual([5, 15, 25]);
    expect([...s.months]).toEqual([1, 5, 9]);
    expect([...s.daysOfWeek].sort()).toEqual([0, 1, 3, 5]);
    expect(s.dayOfMonthRestricted).toBe(true);
    expect(s.dayOfWeekRestricted).toBe(true);
  });

  it("names the setting, the value and the rule when it refuses an expression", () => {
    expect(failure(() => parseCron("0 2 * *", "policy.schedule")).message).toBe(
      'policy.schedule cron "0 2 * *": "0 2 * *" must have 5 fields (minute hour day-of-month month day-of-week), found 4',
    );
    expect(failure(() => parseCron("60 * * * *")).message).toBe(
      'schedule cron "60 * * * *": "60" is outside 0-59 (minute field)',
    );
    expect(failure(() => parseCron("0 5-2 * * *")).message).toBe(
      'schedule cron "0 5-2 * * *": "5-2" is a range whose start exceeds its end (hour field)',
    );
    expect(failure(() => parseCron("*/0 * * * *")).message).toContain("needs a positive step after '/'");
    expect(failure(() => parseCron("0 0 0 * *")).message).toContain('"0" is outside 1-31 (day-of-month field)');
    expect(failure(() => parseCron("0 0 * JAN *")).message).toContain('"JAN" is not a number (month field)');
    expect(failure(() => parseCron("0 0 1,,2 * *")).code).toBe("INVALID_PARAMETER_VALUE");
  });
});

describe("nextCronTime against hand-computed fire times (UTC)", () => {
  it.each([
    ["*/15 * * * *", "2024-01-01T00:07:30.000Z", "2024-01-01T00:15:00.000Z"],
    // strictly after: a fire time equal to `after` is not returned
    ["0 2 * * *", "2024-01-01T02:00:00.000Z", "2024-01-02T02:00:00.000Z"],
    // weekdays: Friday 1 March 2024 after 09:30 → Monday 4 March
    ["30 9 * * 1-5", "2024-03-01T10:00:00.000Z", "2024-03-04T09:30:00.000Z"],
    // the next 29 February after 2024's is in 2028
    ["0 0 29 2 *", "2024-03-01T00:00:00.000Z", "2028-02-29T00:00:00.000Z"],
    // both day fields restricted: the 13th OR a Friday; Sunday 1 Sep 2024 → Friday 6 Sep
    ["0 12 13 * 5", "2024-09-01T00:00:00.000Z", "2024-09-06T12:00:00.000Z"],
    // Saturday 1 June 2024 → Sunday 2 June, first of 00:05
    ["5,35 */6 * * 0", "2024-06-01T00:00:00.000Z", "2024-06-02T00:05:00.000Z"],
    ["5,35 */6 * * 0", "2024-06-02T00:05:00.000Z", "2024-06-02T00:35:00.000Z"],
    ["5,35 */6 * * 0", "2024-06-02T00:35:00.000Z", "2024-06-02T06:05:00.000Z"],
    // Sunday written as 7, stepped range 10,15,20
    ["10-20/5 8 * * 7", "2024-06-02T08:12:00.000Z", "2024-06-02T08:15:00.000Z"],
    ["59 23 31 12 *", "2024-12-31T23:59:00.000Z", "2025-12-31T23:59:00.000Z"],
    // quarterly: months 1, 4, 7, 10
    ["0 0 1 */3 *", "2024-02-10T00:00:00.000Z", "2024-04-01T00:00:00.000Z"],
    // day-of-month 31 skips 30-day months
    ["0 6 31 * *", "2024-04-01T00:00:00.000Z", "2024-05-31T06:00:00.000Z"],
  ])("%s after %s → %s", (expr, after, expected) => {
    expect(next(expr, after)).toBe(expected);
  });

  it("refuses a schedule that never fires", () => {
    const e = failure(() => nextCronTime(parseCron("0 0 31 2 *"), at("2024-01-01T00:00:00Z")));
    expect(e.message).toBe('cron "0 0 31 2 *" never fires');
  });
});
