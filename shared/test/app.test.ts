import { Hono } from "hono";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { createFunctionApp } from "../src/app";
import { AppError } from "../src/errors";
import { createLogger } from "../src/logger";
import { createMetrics } from "../src/metrics";
import { memoryStore } from "../src/store";
import { jsonBody } from "../src/validation";

function makeApp(readinessFails = false) {
  const app = createFunctionApp({
    name: "probe",
    logger: createLogger({ name: "probe", level: "silent" }),
    metrics: createMetrics("probe", { defaultMetrics: false }),
    readiness: {
      database: async () => {
        if (readinessFails) throw new Error("down");
      },
    },
    bodyLimitBytes: 2048,
  });
  const things = new Hono<Parameters<typeof app.route>[1] extends Hono<infer E> ? E : never>();
  things.post(
    "/:id",
    jsonBody(v.object({ name: v.pipe(v.string(), v.minLength(2)), size: v.number() })),
    (c) => c.json({ id: c.req.param("id"), ...c.req.valid("json") }, 201),
  );
  things.get("/boom", () => {
    throw new Error("secret internals");
  });
  things.get("/teapot", () => {
    throw new AppError("CONFLICT", { detail: "already there" });
  });
  app.route("/api/v1/things", things);
  return app;
}

describe("function app factory", () => {
  const app = makeApp();

  it("serves liveness, readiness and metrics", async () => {
    expect((await app.request("/health/liveness")).status).toBe(200);
    const ready = await app.request("/health/readiness");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ok", checks: { database: "ok" } });
    const failing = await makeApp(true).request("/health/readiness");
    expect(failing.status).toBe(503);
  });

  it("labels HTTP metrics by route template, not by raw path", async () => {
    await app.request("/api/v1/things/abc", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "ok", size: 1 }),
    });
    const text = await (await app.request("/metrics")).text();
    expect(text).toContain('route="/api/v1/things/:id"');
    expect(text).not.toContain('route="/api/v1/things/abc"');
  });

  it("answers validation errors as problem+json listing the fields", async () => {
    const res = await app.request("/api/v1/things/x", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "a", size: "big" }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const body = await res.json();
    expect(body.code).toBe("VALIDATION_FAILED");
    expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["name", "size"]);
    expect(body.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("answers malformed JSON with 400, other media types with 415, big bodies with 413", async () => {
    const malformed = await app.request("/api/v1/things/x", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).code).toBe("MALFORMED_JSON");
    const text = await app.request("/api/v1/things/x", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hi",
    });
    expect(text.status).toBe(415);
    const big = await app.request("/api/v1/things/x", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x".repeat(5000), size: 1 }),
    });
    expect(big.status).toBe(413);
    expect((await big.json()).code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("hides unexpected errors behind a generic 500 and maps AppError codes", async () => {
    const boom = await app.request("/api/v1/things/boom");
    expect(boom.status).toBe(500);
    const text = await boom.text();
    expect(text).not.toContain("secret internals");
    expect(JSON.parse(text).code).toBe("INTERNAL");
    const conflict = await app.request("/api/v1/things/teapot");
    expect(conflict.status).toBe(409);
    expect((await conflict.json()).detail).toBe("already there");
  });

  it("answers unknown routes with a problem+json 404", async () => {
    const res = await app.request("/nowhere");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("keeps a well-formed incoming request id and sets secure headers", async () => {
    const res = await app.request("/health/liveness", { headers: { "x-request-id": "abc-123" } });
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("bodies on the wire", () => {
  it("lets a body-less POST through and refuses a body without a JSON content type", async () => {
    const app = makeApp();
    const bare = await app.request("/api/v1/things/x", { method: "POST" });
    expect(bare.status).toBe(400);
    expect((await bare.json()).code).not.toBe("UNSUPPORTED_MEDIA_TYPE");
    const untyped = await app.request("/api/v1/things/x", {
      method: "POST",
      headers: { "content-length": "2" },
      body: "{}",
    });
    expect(untyped.status).toBe(415);
  });
});

describe("per-token rate limit", () => {
  it("answers 429 with Retry-After once one token passes its budget, leaving other tokens alone", async () => {
    const limiter = memoryStore();
    const app = createFunctionApp({
      name: "probe",
      logger: createLogger({ name: "probe", level: "silent" }),
      metrics: createMetrics("probe", { defaultMetrics: false }),
      tokenRateLimit: { limiter, perMinute: 3 },
    });
    app.get("/api/v1/ping", (c) => c.json({ ok: true }));
    const call = (token: string) =>
      app.request("/api/v1/ping", { headers: { authorization: `Bearer ${token}` } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call("token-a")).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await call("token-a");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await call("token-b")).status).toBe(200);
    expect((await app.request("/api/v1/ping")).status).toBe(200);
  });
});
