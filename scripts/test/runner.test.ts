import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deadEvents, localBrokerDeliveries } from "@minispod/db";
import { authFunction } from "@minispod/fn-auth";
import { outboxRelayFunction } from "@minispod/fn-outbox-relay";
import {
  type AppEnv,
  baseApp,
  baseEnvSchema,
  type CloudEventMessage,
  createLogger,
  cronRoutes,
  eventRoutes,
  type FunctionDefinition,
} from "@minispod/shared";
import { createHarness, type Harness, json } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBroker } from "../src/broker/broker";
import { loadManifests } from "../src/broker/manifests";
import { createLocalRunner, type LocalRunner } from "../src/local/runner";

const fixtures = fileURLToPath(new URL("./fixtures/knative/", import.meta.url));

/** A function that records what the broker brings it, and fails on demand. */
function probeFunction() {
  const seen: { path: string; type: string; id: string }[] = [];
  const failures = new Map<string, number>();
  const definition: FunctionDefinition = {
    name: "probe",
    routes: [],
    envSchema: baseEnvSchema,
    create(ctx) {
      const app = baseApp(ctx);
      app.use("/events", async (c, next) => {
        const id = c.req.header("ce-id") ?? "";
        const left = failures.get(id) ?? 0;
        if (left !== 0) {
          failures.set(id, left - 1);
          return c.json({ error: "not now" }, 503);
        }
        await next();
      });
      app.route(
        "/events",
        eventRoutes({
          db: ctx.db,
          metrics: ctx.metrics,
          consumer: "probe",
          handlers: {
            "user.registered": async ({ event }) => {
              seen.push({ path: "/events", type: event.type, id: event.id });
            },
            "user.password_changed": async ({ event }) => {
              seen.push({ path: "/events", type: event.type, id: event.id });
            },
          },
        }),
      );
      app.post("/legacy", (c) => {
        seen.push({
          path: "/legacy",
          type: c.req.header("ce-type") ?? "",
          id: c.req.header("ce-id") ?? "",
        });
        return c.body(null, 202);
      });
      app.route(
        "/cron",
        cronRoutes({
          tick: async () => ({ ticked: seen.push({ path: "/cron/tick", type: "ping", id: "" }) }),
        }),
      );
      return app as unknown as Hono<AppEnv>;
    },
  };
  return { definition, seen, failures };
}

const passwordChanged = (id: string): CloudEventMessage => ({
  id,
  type: "dev.minispod.user.password_changed",
  source: "auth",
  subject: "u1",
  time: new Date().toISOString(),
  data: { userId: "00000000-0000-0000-0000-000000000001", email: "a@example.com" },
});

describe.each(["pglite", "postgres"] as const)("local runner on %s", (kind) => {
  let runner: LocalRunner;
  let harness: Harness | undefined;
  const probe = probeFunction();

  beforeAll(async () => {
    const source: Record<string, string> = {
      DATA_DIR: mkdtempSync(join(tmpdir(), "minispod-runner-")),
      LOCAL_CRON: "false",
      LOG_LEVEL: "silent",
      BCRYPT_COST: "4",
      ADMIN_PASSWORD: "admin password 1",
    };
    if (kind === "pglite") source.DATABASE_URL = "pglite://memory";
    else {
      harness = await createHarness();
      source.DATABASE_URL = harness.databaseUrl;
      source.REDIS_URL = harness.redisUrl;
      source.REDIS_KEY_PREFIX = harness.redisPrefix;
    }
    runner = await createLocalRunner({
      source,
      functions: [authFunction, outboxRelayFunction, probe.definition],
      knativeDir: fixtures,
    });
  }, 120_000);
  afterAll(async () => {
    await runner?.close();
    await harness?.close();
  });

  it("is ready, and answers unknown paths with problem+json", async () => {
    const ready = await runner.app.request("/health/readiness");
    expect(ready.status).toBe(200);
    expect((await ready.json()).functions).toEqual({
      auth: "ok",
      "outbox-relay": "ok",
      probe: "ok",
    });
    const missing = await runner.app.request("/api/v1/nothing");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
  });

  it("serves register -> login -> me, and delivers user.registered to the Trigger's subscriber once", async () => {
    const reg = await runner.app.request(
      "/api/v1/auth/register",
      json({ email: "flow@example.com", password: "a long password", name: "Flow" }),
    );
    expect(reg.status).toBe(201);
    const login = await runner.app.request(
      "/api/v1/auth/login",
      json({ email: "flow@example.com", password: "a long password" }),
    );
    expect(login.status).toBe(200);
    const { accessToken, user } = await login.json();
    const me = await runner.app.request("/api/v1/auth/me", {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(await me.json()).toMatchObject({ id: user.id, email: "flow@example.com" });
    await runner.settle();
    expect(probe.seen.filter((s) => s.type === "dev.minispod.user.registered")).toHaveLength(1);
  });

  it("creates the admin from ADMIN_PASSWORD", async () => {
    expect(runner.admin).toMatchObject({ email: "admin@minispod.local", created: true });
    expect(runner.admin.password).toBeUndefined();
    const login = await runner.app.request(
      "/api/v1/auth/login",
      json({ email: "admin@minispod.local", password: "admin password 1" }),
    );
    expect((await login.json()).user.role).toBe("SUPER_ADMIN");
  });

  it("retries a failing delivery with the Trigger's backoff, then succeeds", async () => {
    const id = crypto.randomUUID();
    probe.failures.set(id, 2);
    await runner.broker.publish(passwordChanged(id));
    await runner.settle();
    expect(
      probe.seen
        .filter((s) => s.id === id)
        .map((s) => s.path)
        .sort(),
    ).toEqual(["/events", "/legacy"]);
    expect(probe.failures.get(id)).toBe(0);
  });

  it("hands an event that keeps failing to the dead-letter sink", async () => {
    const id = crypto.randomUUID();
    probe.failures.set(id, -1);
    await runner.broker.publish(passwordChanged(id));
    await runner.settle();
    const rows = await runner.infra.database.db
      .select()
      .from(deadEvents)
      .where(eq(deadEvents.eventId, id));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.extensions).toMatchObject({ knativeerrordest: "probe/events" });
  });

  it("holds what it accepted in the database until delivered, so a restarted broker delivers it", async () => {
    const db = runner.infra.database.db;
    const manifests = loadManifests(fixtures);
    const logger = createLogger({ name: "broker-test", level: "silent" });
    const id = crypto.randomUUID();
    // Accepted by a broker that dies before delivering anything (never started).
    const crashed = createBroker({
      manifests,
      logger,
      db,
      deliver: async () => {
        throw new Error("the crashed broker delivers nothing");
      },
    });
    await crashed.publish(passwordChanged(id));
    await crashed.stop();
    const queued = await db
      .select()
      .from(localBrokerDeliveries)
      .where(eq(localBrokerDeliveries.eventId, id));
    expect(queued.map((r) => r.trigger).sort()).toEqual(["probe-legacy-filter", "probe-users"]);
    expect(probe.seen.filter((s) => s.id === id)).toEqual([]);

    const restarted = createBroker({
      manifests,
      logger,
      db,
      deliver: async (destination, headers, body) =>
        runner.hosted
          .get(destination.service)
          ?.app.request(destination.uri, { method: "POST", headers, body }),
    });
    await restarted.start();
    await restarted.idle();
    await restarted.stop();
    expect(
      probe.seen
        .filter((s) => s.id === id)
        .map((s) => s.path)
        .sort(),
    ).toEqual(["/events", "/legacy"]);
    expect(
      await db.select().from(localBrokerDeliveries).where(eq(localBrokerDeliveries.eventId, id)),
    ).toEqual([]);
  });

  it("fires PingSources at the sink they name", async () => {
    expect(await runner.broker.firePing("probe-tick")).toBe(200);
    expect(probe.seen.some((s) => s.path === "/cron/tick")).toBe(true);
  });

  it("merges every function's metrics into one exposition", async () => {
    const text = await (await runner.app.request("/metrics")).text();
    expect(text.match(/^# TYPE http_requests_total counter$/gm)).toHaveLength(1);
    expect(text).toContain('function="auth"');
    expect(text).toContain('route="/api/v1/auth/register"');
  });
});
