import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createFunctionApp } from "../src/app";
import { fromHttp, toBinaryHttp } from "../src/events/publisher";
import {
  currentTraceparent,
  formatTraceparent,
  newTrace,
  parseTraceparent,
} from "../src/events/trace";
import { createMetrics } from "../src/metrics";

describe("traceparent parsing", () => {
  it("accepts W3C version 00 and keeps the trace id", () => {
    expect(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      flags: "01",
    });
  });

  it.each([
    ["all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
    ["all-zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"],
    ["version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["extra field on version 00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"],
    ["short trace id", "00-4bf92f35-00f067aa0ba902b7-01"],
  ])("refuses a %s", (_, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it("gives every hop a new span id in the same trace", () => {
    const trace = newTrace();
    const [a, b] = [formatTraceparent(trace), formatTraceparent(trace)];
    expect(parseTraceparent(a)?.traceId).toBe(trace.traceId);
    expect(a).not.toBe(b);
  });

  it("travels on a CloudEvent as the extension and as the W3C header", () => {
    const traceparent = formatTraceparent(newTrace());
    const { headers, body } = toBinaryHttp({
      id: "1",
      type: "dev.minispod.user.registered",
      source: "auth",
      time: new Date().toISOString(),
      data: {},
      extensions: { traceparent },
    });
    expect(headers.traceparent).toBe(traceparent);
    expect(headers["ce-traceparent"]).toBe(traceparent);
    expect(fromHttp(headers, body).extensions?.traceparent).toBe(traceparent);
  });
});

describe("requests and their trace", () => {
  function appWithLog() {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const app = createFunctionApp({
      name: "t",
      logger: pino({ level: "info" }, sink),
      metrics: createMetrics("t", { defaultMetrics: false }),
    });
    app.post("/act", (c) => c.json({ traceparent: currentTraceparent() ?? null }));
    app.get("/read", (c) => c.json({ traceparent: currentTraceparent() ?? null }));
    return { app, lines };
  }

  it("continues the caller's trace and logs its id on the request line", async () => {
    const { app, lines } = appWithLog();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await app.request("/act", {
      method: "POST",
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    const { traceparent } = await res.json();
    expect(parseTraceparent(traceparent)?.traceId).toBe(traceId);
    expect(lines.find((l) => l.msg === "request")).toMatchObject({ traceId });
  });

  it("names a new trace after the request id for a state-changing request without one", async () => {
    const { app } = appWithLog();
    const res = await app.request("/act", { method: "POST" });
    const { traceparent } = await res.json();
    expect(parseTraceparent(traceparent)?.traceId).toBe(
      res.headers.get("x-request-id")?.replaceAll("-", ""),
    );
  });

  it("does no trace work for a GET without a traceparent", async () => {
    const { app, lines } = appWithLog();
    expect(await (await app.request("/read")).json()).toEqual({ traceparent: null });
    expect(lines.find((l) => l.msg === "request")).not.toHaveProperty("traceId");
  });
});
