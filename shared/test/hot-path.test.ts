import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { createFunctionApp, SECURITY_HEADERS } from "../src/app";
import type { AppEnv } from "../src/app-env";
import { requireAuth } from "../src/auth";
import { createTokenSigner, generateSigningKey } from "../src/jwt";
import { createLogger, runWithRequestId } from "../src/logger";
import { createMetrics } from "../src/metrics";
import { revokeUserTokens, withRevocation } from "../src/revocation";
import { serveApp } from "../src/serve";
import { memoryStore, redisRateLimiter, redisStore } from "../src/store";
import { createHarness } from "../src/testing";

function lines() {
  const written: Record<string, unknown>[] = [];
  return {
    written,
    write(line: string) {
      written.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
}

async function probeApp(sink = lines()) {
  const signer = createTokenSigner(await generateSigningKey(), { issuer: "i", audience: "a" });
  const store = memoryStore();
  const verifier = withRevocation(signer.verifier(), store);
  const app = createFunctionApp({
    name: "probe",
    logger: createLogger({ name: "probe", level: "info", destination: sink }),
    metrics: createMetrics("probe", { defaultMetrics: false }),
    tokenRateLimit: { limiter: store, perMinute: 100, verifier },
  });
  const routes = new Hono<AppEnv>()
    .get("/mine", requireAuth(verifier), (c) => {
      c.get("logger").info({ password: "hunter2" }, "inside the handler");
      return c.json({ userId: c.get("auth").userId });
    })
    .get("/boom", () => {
      throw new Error("boom");
    })
    .get("/framed", (c) => {
      c.header("X-Frame-Options", "DENY");
      c.header("x-request-id", "route-chosen");
      return c.text("framed");
    });
  app.route("/api/v1/probe", routes);
  const token = await signer.sign({ userId: "u1", role: "CUSTOMER", email: "a@example.com" }, 900);
  return { app, sink, signer, store, token };
}

describe("security headers and request id on the Node fast path", () => {
  const servers: { close(): void }[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  // serveApp's FunctionResponse writes them with the head; the adapter's plain
  // ServerResponse (any other host) gets them through setHeader.
  const hosts = {
    serveApp: (app: Hono<AppEnv>) =>
      serveApp(app.fetch, {
        port: 0,
        hostname: "127.0.0.1",
        logger: createLogger({ name: "probe", level: "silent" }),
      }),
    "@hono/node-server serve": async (app: Hono<AppEnv>) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
      await new Promise((r) => server.once("listening", r));
      return server;
    },
  };

  for (const [host, start] of Object.entries(hosts)) {
    it(`reach the wire on success, on errors and on 401s, as under app.request() (${host})`, async () => {
      const { app, token } = await probeApp();
      const server = await start(app);
      servers.push(server);
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

      const responses = [
        await fetch(`${base}/health/liveness`, { headers: { "x-request-id": "given-1" } }),
        await fetch(`${base}/api/v1/probe/boom`),
        await fetch(`${base}/api/v1/probe/mine`),
        await fetch(`${base}/api/v1/probe/mine`, { headers: { authorization: `Bearer ${token}` } }),
        await fetch(`${base}/nowhere`, { method: "POST" }),
        await app.request("/health/liveness", { headers: { "x-request-id": "given-1" } }),
      ];
      expect(responses.map((r) => r.status)).toEqual([200, 500, 401, 200, 404, 200]);
      for (const res of responses) {
        for (const [name, value] of SECURITY_HEADERS) expect(res.headers.get(name)).toBe(value);
        expect(res.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9._:-]+$/);
      }
      expect(responses[0]!.headers.get("x-request-id")).toBe("given-1");
      expect(responses[5]!.headers.get("x-request-id")).toBe("given-1");
      expect(await responses[0]!.json()).toEqual({ status: "ok" });
      expect(await responses[1]!.json()).toMatchObject({
        requestId: responses[1]!.headers.get("x-request-id"),
      });
      // Authenticated answers are never cached, and the body is the route's.
      expect(responses[3]!.headers.get("cache-control")).toBe("no-store");
      expect(await responses[3]!.json()).toEqual({ userId: "u1" });

      // A header the route's own response sets wins, once (a duplicate would read "DENY, SAMEORIGIN").
      const framed = await fetch(`${base}/api/v1/probe/framed`);
      expect(framed.headers.get("x-frame-options")).toBe("DENY");
      expect(framed.headers.get("x-request-id")).toBe("route-chosen");
      expect(framed.headers.get("referrer-policy")).toBe("no-referrer");
      expect(await framed.text()).toBe("framed");
    });
  }
});

describe("request logs without a child logger per request", () => {
  it("tags the request line and the handler's lines with the request id, and nothing outside", async () => {
    const { app, sink, token } = await probeApp();
    const res = await app.request("/api/v1/probe/mine", {
      headers: { authorization: `Bearer ${token}`, "x-request-id": "req-42" },
    });
    expect(res.status).toBe(200);
    const inside = sink.written.find((l) => l.msg === "inside the handler");
    const request = sink.written.find((l) => l.msg === "request");
    // Handlers' lines are still redacted; only the fixed-field request line skips it.
    expect(inside).toMatchObject({ requestId: "req-42", fn: "probe", password: "[redacted]" });
    expect(request).toMatchObject({
      requestId: "req-42",
      status: 200,
      route: "/api/v1/probe/mine",
    });

    const logger = createLogger({ name: "probe", destination: sink });
    logger.info("at start-up");
    runWithRequestId("other", () => logger.info("in a scope"));
    expect(sink.written.find((l) => l.msg === "at start-up")).not.toHaveProperty("requestId");
    expect(sink.written.find((l) => l.msg === "in a scope")).toMatchObject({ requestId: "other" });
  });
});

describe("rate limit and revocation on Redis", () => {
  const harness = createHarness();
  afterAll(async () => (await harness).close());

  it("counts with EVALSHA and recovers when Redis lost the script", async () => {
    const { redis } = await harness;
    const limiter = redisRateLimiter(redis);
    expect(redisRateLimiter(redis)).toBeDefined(); // defining the command twice is harmless
    const first = await limiter.hit("evalsha:a", 2, 60);
    await redis.script("FLUSH");
    const second = await limiter.hit("evalsha:a", 2, 60);
    const third = await limiter.hit("evalsha:a", 2, 60);
    expect([first.allowed, second.allowed, third.allowed]).toEqual([true, true, false]);
    expect(third.retryAfterSeconds).toBeGreaterThan(0);
    expect(third.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it("uses a prefetched revocation mark only for the subject the signature proves", async () => {
    const { redis } = await harness;
    const store = redisStore(redis);
    const signer = createTokenSigner(await generateSigningKey(), { issuer: "i", audience: "a" });
    const verifier = withRevocation(signer.verifier(), store);
    const sign = (userId: string) =>
      signer.sign({ userId, role: "CUSTOMER", email: `${userId}@example.com` }, 900);
    const victimToken = await sign("victim");
    const otherToken = await sign("other");
    await new Promise((r) => setTimeout(r, 5));
    await revokeUserTokens(store, "victim", new Date(), 900);

    // The prefetched read answers for the token it was started for.
    await expect(verifier.verify(victimToken, verifier.prefetch?.(victimToken))).rejects.toThrow(
      "token revoked",
    );
    await expect(
      verifier.verify(otherToken, verifier.prefetch?.(otherToken)),
    ).resolves.toMatchObject({ userId: "other" });
    // A hint for another token, or naming another subject, is ignored: the mark is read again.
    const stale = verifier.prefetch?.(otherToken);
    await expect(verifier.verify(victimToken, stale)).rejects.toThrow("token revoked");
    const forged = { token: victimToken, userId: "other", revokedBefore: Promise.resolve(null) };
    await expect(verifier.verify(victimToken, forged)).rejects.toThrow("token revoked");
    // Something that is not a JWT starts no read.
    expect(verifier.prefetch?.("not-a-jwt")).toBeUndefined();
  });
});

describe("logger fields", () => {
  it("keeps each line's own fields apart from the request scope and from the next line", () => {
    const sink = lines();
    const logger = createLogger({ name: "probe", destination: sink });
    runWithRequestId("r1", () => {
      logger.info({ database: "db" }, "first");
      logger.info("second");
    });
    logger.info({ port: 1 }, "third");
    expect(
      sink.written.map(({ msg, requestId, database, port }) => ({
        msg,
        requestId,
        database,
        port,
      })),
    ).toEqual([
      { msg: "first", requestId: "r1", database: "db", port: undefined },
      { msg: "second", requestId: "r1", database: undefined, port: undefined },
      { msg: "third", requestId: undefined, database: undefined, port: 1 },
    ]);
  });
});
