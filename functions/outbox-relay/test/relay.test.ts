import { deadEvents, outboxEvents } from "@minispod/db";
import { enqueueEvent, toBinaryHttp } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { eq, isNull } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outboxRelayFunction } from "../src/function";

let h: Harness;
let app: Hono;
beforeAll(async () => {
  h = await createHarness();
  app = (await h.app(outboxRelayFunction, { OUTBOX_RELAY_BATCH: "2" })) as unknown as Hono;
});
afterAll(() => h.close());

const enqueue = (userId: string) =>
  h.database.db.transaction((tx) =>
    enqueueEvent(tx, {
      type: "user.password_changed",
      source: "auth",
      subject: userId,
      data: { userId, email: "a@example.com" },
    }),
  );

describe("relay sweep", () => {
  it("publishes every unsent row, across several batches, once", async () => {
    const user = await h.user();
    const ids = [await enqueue(user.id), await enqueue(user.id), await enqueue(user.id)];
    const res = await app.request("/cron/relay", { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ job: "relay", published: 3, failed: 0 });
    expect(h.publisher.events.map((e) => e.id).sort()).toEqual([...ids].sort());
    const unsent = await h.database.db
      .select()
      .from(outboxEvents)
      .where(isNull(outboxEvents.publishedAt));
    expect(unsent).toHaveLength(0);
    const again = await app.request("/cron/relay", { method: "POST" });
    expect(await again.json()).toMatchObject({ published: 0 });
    expect(h.publisher.events).toHaveLength(3);
    const text = await (await app.request("/metrics")).text();
    expect(text).toMatch(
      /^minispod_events_published_total\{type="user.password_changed",function="outbox-relay"\} 3$/m,
    );
  });

  it("answers 404 for an unknown job", async () => {
    expect((await app.request("/cron/nope", { method: "POST" })).status).toBe(404);
  });
});

describe("dead-letter sink", () => {
  it("stores the dead event with Knative's error extensions and when it happened", async () => {
    const happened = new Date(Date.now() - 86_400_000);
    const { headers, body } = toBinaryHttp({
      id: "evt-1",
      type: "dev.minispod.subscription.activated",
      source: "subscriptions",
      subject: "sub-1",
      time: happened.toISOString(),
      data: { userId: "u" },
      extensions: { knativeerrordest: "notifier/events", knativeerrorcode: "500" },
    });
    const res = await app.request("/events/dead-letter", { method: "POST", headers, body });
    expect(res.status).toBe(201);
    const [row] = await h.database.db
      .select()
      .from(deadEvents)
      .where(eq(deadEvents.eventId, "evt-1"));
    expect(row).toMatchObject({
      type: "dev.minispod.subscription.activated",
      source: "subscriptions",
    });
    expect(row?.eventTime?.toISOString()).toBe(happened.toISOString());
    expect(row?.extensions).toMatchObject({
      knativeerrordest: "notifier/events",
      knativeerrorcode: "500",
    });
    const text = await (await app.request("/metrics")).text();
    expect(text).toMatch(
      /^minispod_events_dead_lettered_total\{type="subscription.activated",function="outbox-relay"\} 1$/m,
    );
  });

  it("refuses what is not a CloudEvent", async () => {
    const res = await app.request("/events/dead-letter", { method: "POST", body: "hello" });
    expect(res.status).toBe(400);
  });
});
