import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createMetrics, perRegistry } from "../src/metrics";

/** prom-client's own counter and histogram, as the HTTP metrics were defined before. */
function promClientReference(fn: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ function: fn });
  const labelNames = ["method", "route", "status"] as const;
  const counter = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by route template and status.",
    labelNames,
    registers: [registry],
  });
  const histogram = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency, by route template and status.",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    record(method: string, route: string, status: number, seconds: number) {
      const labels = { method, route, status: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    },
  };
}

describe("HTTP metrics", () => {
  const requests: [string, string, number, number][] = [
    ["GET", "/api/v1/things/:id", 200, 0.0004],
    ["GET", "/api/v1/things/:id", 200, 0.005], // on a bound: counted in it, as prom-client does
    ["GET", "/api/v1/things/:id", 404, 0.3],
    ["POST", "/api/v1/things", 201, 12],
    ["GET", "/api/v1/things/:id", 200, 0.07],
    ["GET", "unmatched", 404, 2.5],
  ];

  it("expose the same text and JSON as prom-client's Counter and Histogram for the same requests", async () => {
    const ours = createMetrics("probe", { defaultMetrics: false });
    const reference = promClientReference("probe");
    for (const r of requests) {
      ours.http.record(...r);
      reference.record(...r);
    }
    const text = await ours.registry.metrics();
    expect(text).toBe(await reference.registry.metrics());
    expect(text).toContain(
      'http_request_duration_seconds_bucket{le="0.005",function="probe",method="GET",route="/api/v1/things/:id",status="200"} 2',
    );
    expect(text).toContain(
      'http_requests_total{method="GET",route="/api/v1/things/:id",status="200",function="probe"} 3',
    );
    expect(await ours.registry.getMetricsAsJSON()).toEqual(
      await reference.registry.getMetricsAsJSON(),
    );

    ours.registry.resetMetrics();
    reference.registry.resetMetrics();
    expect(await ours.registry.metrics()).toBe(await reference.registry.metrics());
  });

  it("keep apart the registries of functions hosted in one process", async () => {
    const a = createMetrics("a", { defaultMetrics: false });
    const b = createMetrics("b", { defaultMetrics: false });
    a.http.record("GET", "/x", 200, 0.001);
    expect(await a.registry.metrics()).toContain('function="a"');
    expect(await b.registry.metrics()).not.toContain('route="/x"');
  });
});

describe("perRegistry", () => {
  const jobs = perRegistry((registry: Registry, prefix: string) => ({
    prefix,
    runs: new Counter({ name: `${prefix}_runs_total`, help: "Runs.", registers: [registry] }),
  }));

  it("builds once per registry and hands the same metrics back", async () => {
    const a = new Registry();
    const first = jobs(a, "sweep");
    // A second build would throw: prom-client refuses a duplicate name in one registry.
    const again = jobs(a, "ignored");
    expect(again).toBe(first);
    expect(again.prefix).toBe("sweep");
    again.runs.inc(2);
    expect(await a.metrics()).toContain("sweep_runs_total 2");
  });

  it("keeps registries apart", async () => {
    const a = new Registry();
    const b = new Registry();
    jobs(a, "sweep").runs.inc();
    expect(jobs(b, "sweep")).not.toBe(jobs(a, "sweep"));
    expect(await b.metrics()).toContain("sweep_runs_total 0");
    expect(await a.metrics()).toContain("sweep_runs_total 1");
  });
});
