import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * Each function owns a registry (not prom-client's global one), so the local
 * runner can host every function in one process without name clashes.
 */
export interface Metrics {
  registry: Registry;
  /** `http_requests_total` and `http_request_duration_seconds`, by method, route template and status. */
  http: HttpMetrics;
}

export function createMetrics(fn: string, options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ function: fn });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return { registry, http: new HttpMetrics(registry) };
}

/**
 * Metrics made once per registry. prom-client refuses a second metric of the
 * same name in one registry, and the code that wants them (a config built per
 * request, a sweep's app) may ask more than once: the first call builds and
 * registers them, later calls with the same registry get the same objects
 * (and their other arguments are not used).
 *
 * @example
 * export const queueMetrics = perRegistry((registry: Registry) => ({
 *   waiting: new Gauge({ name: "queue_waiting", help: "…", registers: [registry] }),
 * }));
 */
export function perRegistry<T, A extends unknown[]>(
  build: (registry: Registry, ...args: A) => T,
): (registry: Registry, ...args: A) => T {
  const made = new WeakMap<Registry, T>();
  return (registry, ...args) => {
    if (!made.has(registry)) made.set(registry, build(registry, ...args));
    return made.get(registry)!;
  };
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  buckets: Float64Array;
  sum: number;
}

/** A sample as prom-client's Registry reads it from a metric's `get()`. */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  metricName?: string;
  /** Always null: no exemplars (prom-client writes null on buckets too). */
  exemplar?: null;
}

/**
 * The request counter and latency histogram every response records. prom-client's
 * Counter.inc and Histogram.observe check and hash the label object on every call
 * (1.5 to 2 µs a request together, measured; its `labels()` children do the same);
 * here a request costs one map lookup and a few additions. Both are registered in
 * the function's registry as metrics it reads at scrape time, in the exposition
 * prom-client writes for its own counter and histogram (same names, types, labels).
 */
export class HttpMetrics {
  readonly #series = new Map<string, Series>();

  constructor(registry: Registry) {
    const series = this.#series;
    registry.registerMetric(
      scrapedMetric(
        "http_requests_total",
        "HTTP requests answered, by route template and status.",
        "counter",
        () => series.clear(),
        () =>
          [...series.values()].map((s) => ({
            value: s.buckets.reduce((a, b) => a + b, 0),
            labels: { ...s.labels },
          })),
      ),
    );
    registry.registerMetric(
      scrapedMetric(
        "http_request_duration_seconds",
        "HTTP request latency, by route template and status.",
        "histogram",
        () => series.clear(),
        () => [...series.values()].flatMap(histogramSamples),
      ),
    );
  }

  /** Counts one answered request and its duration. */
  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.#series.get(key);
    if (!series) {
      series = {
        labels: { method, route, status: String(status) },
        buckets: new Float64Array(DURATION_BUCKETS.length + 1),
        sum: 0,
      };
      this.#series.set(key, series);
    }
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    series.buckets[i]! += 1;
    series.sum += seconds;
  }
}

function histogramSamples(s: Series): Sample[] {
  const name = "http_request_duration_seconds";
  const samples: Sample[] = [];
  let cumulative = 0;
  for (const [i, le] of DURATION_BUCKETS.entries()) {
    cumulative += s.buckets[i]!;
    samples.push({
      value: cumulative,
      labels: { le },
      sharedLabels: { ...s.labels },
      metricName: `${name}_bucket`,
      exemplar: null,
    });
  }
  const count = cumulative + s.buckets[DURATION_BUCKETS.length]!;
  samples.push(
    {
      value: count,
      labels: { le: "+Inf" },
      sharedLabels: { ...s.labels },
      metricName: `${name}_bucket`,
      exemplar: null,
    },
    { value: s.sum, labels: {}, sharedLabels: { ...s.labels }, metricName: `${name}_sum` },
    { value: count, labels: {}, sharedLabels: { ...s.labels }, metricName: `${name}_count` },
  );
  return samples;
}

/**
 * What prom-client's Registry needs of a metric: a name, help, type and samples
 * read at scrape time (`getForPromString` for the text exposition, `get` with the
 * labels merged for JSON, as prom-client's own metrics answer).
 */
function scrapedMetric(
  name: string,
  help: string,
  type: "counter" | "histogram",
  reset: () => void,
  values: () => Sample[],
) {
  const read = (merge: boolean) => ({
    name,
    help,
    type,
    aggregator: "sum" as const,
    values: merge
      ? values().map(({ sharedLabels, labels, ...rest }) => ({
          ...rest,
          labels: { ...labels, ...sharedLabels },
        }))
      : values(),
  });
  return {
    name,
    help,
    type,
    aggregator: "sum" as const,
    get: async () => read(true),
    getForPromString: async () => read(false),
    reset,
  } as unknown as Parameters<Registry["registerMetric"]>[0];
}
