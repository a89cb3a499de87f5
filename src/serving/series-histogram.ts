import type { Metric, Registry } from "prom-client";

/**
 * A Prometheus histogram whose series are plain counters in typed arrays, exposed through
 * prom-client's registry with exactly the samples prom-client's own Histogram would give for the
 * same observations. prom-client hashes the label set and builds a closure on every `observe`,
 * even through a child from `labels()`; on the serving path that cost as much as scoring a
 * 300-tree model, so a request here pays one array store and two additions per value.
 */
export class HistogramSeries {
  /** Per bucket (the last one past every bound), the observations that fell in it. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly upperBounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
    /** The histogram's exposed series: this one joins on its first observation, as in prom-client. */
    private readonly exposed: HistogramSeries[],
  ) {
    this.counts = new Float64Array(upperBounds.length + 1);
  }

  observe(value: number): void {
    // prom-client refuses such values the same way.
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    if (this.count === 0) this.exposed.push(this);
    const bounds = this.upperBounds;
    let b = 0;
    while (b < bounds.length && value > (bounds[b] as number)) b++;
    this.counts[b]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly metricName: string;
}

interface Exposed<V> {
  readonly name: string;
  readonly help: string;
  readonly type: "histogram";
  readonly values: V[];
  readonly aggregator: "sum";
}

export class SeriesHistogram<T extends string> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, HistogramSeries>();
  private readonly exposed: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly T[],
    private readonly upperBounds: readonly number[],
    registers: readonly Registry[],
  ) {
    // The registry reads metrics through get() and getForPromString(), which this class provides.
    for (const r of registers) r.registerMetric(this as unknown as Metric<T>);
  }

  /** The series of one label set, created on first use; keep it to observe without a lookup. */
  labels(labels: Readonly<Record<T, string>>): HistogramSeries {
    let key = "";
    for (const n of this.labelNames) key += `${labels[n]}\u0000`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = new HistogramSeries(this.upperBounds, labels, this.exposed);
      this.series.set(key, s);
    }
    return s;
  }

  observe(labels: Readonly<Record<T, string>>, value: number): void {
    this.labels(labels).observe(value);
  }

  /** Every series back to no observations and out of the exposition until its next one. */
  reset(): void {
    for (const s of this.exposed) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
    this.exposed.length = 0;
  }

  /** prom-client's histogram samples: cumulative buckets, then +Inf, sum and count per series. */
  getForPromString(): Promise<Exposed<Sample>> {
    const bucket = `${this.name}_bucket`;
    const values: Sample[] = [];
    for (const s of this.exposed) {
      let acc = 0;
      for (let b = 0; b < this.upperBounds.length; b++) {
        acc += s.counts[b] as number;
        values.push({
          labels: { le: this.upperBounds[b] as number },
          sharedLabels: s.labels,
          value: acc,
          metricName: bucket,
        });
      }
      values.push(
        { labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: bucket },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** The JSON form (`getMetricsAsJSON`): each sample's labels with its series' labels merged in. */
  async get(): Promise<Exposed<Omit<Sample, "sharedLabels">>> {
    const data = await this.getForPromString();
    const values = data.values.map(({ labels, sharedLabels, value, metricName }) => ({
      labels: { ...labels, ...sharedLabels },
      value,
      metricName,
    }));
    return { ...data, values };
  }
}
