/** One sample of Prometheus' text exposition format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    const value = m[3] === "+Inf" ? Infinity : Number(m[3]);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/**
 * The q-quantile of a histogram's cumulative buckets, as PromQL's `histogram_quantile`: linear
 * within the bucket the rank falls in (from 0 for the first), the highest finite bound when it falls
 * in `+Inf`, counts made monotonic first (a bucket reset on its own can dip below the one before).
 */
export function histogramQuantile(buckets: readonly { le: number; count: number }[], q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  let max = 0;
  const counts = sorted.map((b) => (max = Math.max(max, b.count)));
  const n = counts[counts.length - 1] ?? 0;
  if (n === 0) return null;
  const rank = q * n;
  let prevLe = 0;
  let prevCount = 0;
  for (let i = 0; i < sorted.length; i++) {
    const le = sorted[i]!.le;
    const count = counts[i]!;
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      if (i === 0 && le <= 0) return le;
      const inBucket = count - prevCount;
      return inBucket === 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

const matches = (s: Sample, name: string, where: Record<string, string>) =>
  s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v);

function seriesKey(s: Sample): string {
  return JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * How much each series named `name` matching `where` grew from the scrape `before` to `now`, as
 * PromQL's `increase` over exactly those two samples: a series lower than before was reset (its
 * process restarted), so all of its value is new; a series missing before started at 0 since.
 */
function increases(now: readonly Sample[], before: readonly Sample[], name: string, where: Record<string, string>) {
  const was = new Map<string, number>();
  for (const s of before) if (matches(s, name, where)) was.set(seriesKey(s), s.value);
  return now
    .filter((s) => matches(s, name, where))
    .map((s) => {
      const v = was.get(seriesKey(s)) ?? 0;
      return { labels: s.labels, increase: s.value >= v ? s.value - v : s.value };
    });
}

/** The summed increase of a counter between two scrapes (see `increases`), e.g. requests in the interval. */
export function increase(
  now: readonly Sample[],
  before: readonly Sample[],
  name: string,
  where: Record<string, string> = {},
): number {
  return increases(now, before, name, where).reduce((a, s) => a + s.increase, 0);
}

/**
 * A histogram's cumulative buckets over the interval between two scrapes, summed over the other
 * labels: `sum by (le) (increase(name_bucket[interval]))`, the input of `histogramQuantile`.
 */
export function bucketIncrease(
  now: readonly Sample[],
  before: readonly Sample[],
  name: string,
  where: Record<string, string>,
): { le: number; count: number }[] {
  const byLe = new Map<number, number>();
  for (const s of increases(now, before, `${name}_bucket`, where)) {
    const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.increase);
  }
  return [...byLe.entries()].map(([le, count]) => ({ le, count }));
}
