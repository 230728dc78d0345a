import { webhookDeliveries } from "@minispod/db";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { attemptDelivery } from "@minispod/webhooks";
import { startTestReceiver, type TestReceiver } from "@minispod/webhooks/test-receiver";
import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { deliveryConfig } from "../src/deps";
import { webhookDispatcherFunction } from "../src/function";
import { claimDueDeliveries } from "../src/services/retry";
import { sendDeliveries } from "../src/services/send";
import { makeEndpoint } from "./helpers";

/**
 * A sweep claims a batch, then sends it over the following seconds or minutes.
 * What happened to a delivery or its endpoint in between must count: a
 * disabled endpoint is never sent to, and a delivery already settled by a
 * manual redeliver is neither sent again nor put back on the schedule.
 */
let h: Harness;
let app: Hono;
let receiver: TestReceiver;
const context = () =>
  h.context(webhookDispatcherFunction, {
    WEBHOOK_ALLOW_PRIVATE: "true",
    WEBHOOK_CONCURRENCY: "1",
  });

beforeAll(async () => {
  h = await createHarness();
  receiver = await startTestReceiver();
  app = createApp(context()) as unknown as Hono;
});
afterAll(async () => {
  await receiver.close();
  await h.close();
});

const deliveryRow = async (id: string) => {
  const [row] = await h.database.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.id, id));
  return row!;
};
const dueDelivery = async (endpointId: string, eventId: string, at: Date) => {
  const [row] = await h.database.db
    .insert(webhookDeliveries)
    .values({
      endpointId,
      messageId: `msg_${eventId.replaceAll("-", "")}`,
      eventId,
      eventType: "subscription.activated",
      payload: { type: "subscription.activated", timestamp: at.toISOString(), data: {} },
      nextAttemptAt: at,
      createdAt: at,
      updatedAt: at,
    })
    .returning();
  return row!;
};

describe("deliveries claimed by a sweep", () => {
  it("are not sent once their endpoint was disabled mid-sweep (410 on an earlier one)", async () => {
    const t0 = new Date("2031-01-01T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/gone-mid-sweep") });
    const first = await dueDelivery(endpoint.id, "stale-1", t0);
    const second = await dueDelivery(endpoint.id, "stale-2", new Date(t0.getTime() + 1));
    h.clock.now = new Date(t0.getTime() + 1000);
    receiver.reply = () => ({ status: 410 });

    const response = await app.request("/cron/retry", { method: "POST" });
    expect(response.status).toBe(200);

    // The first answer disabled the endpoint; the second delivery never left.
    expect(receiver.to("/gone-mid-sweep")).toHaveLength(1);
    expect(await deliveryRow(first.id)).toMatchObject({ status: "FAILED", attemptCount: 1 });
    expect(await deliveryRow(second.id)).toMatchObject({
      status: "FAILED",
      attemptCount: 0,
      nextAttemptAt: null,
    });
  });

  it("are not sent again when a manual redeliver already succeeded", async () => {
    const t0 = new Date("2031-02-01T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/settled") });
    const delivery = await dueDelivery(endpoint.id, "settled-1", t0);
    const config = deliveryConfig(context());

    const claimed = await claimDueDeliveries(h.database.db, {
      now: t0,
      batch: 10,
      leaseSeconds: 60,
    });
    expect(claimed.send).toContain(delivery.id);
    receiver.reply = () => ({ status: 200 });
    await attemptDelivery(h.database.db, delivery.id, { mode: "manual", now: t0, config });

    receiver.reply = () => ({ status: 500 });
    await sendDeliveries(h.database.db, [delivery.id], { now: () => t0, config, concurrency: 1 });

    expect(receiver.to("/settled")).toHaveLength(1);
    expect(await deliveryRow(delivery.id)).toMatchObject({
      status: "SUCCEEDED",
      attemptCount: 1,
      nextAttemptAt: null,
    });
  });

  it("are not put back on the schedule when a manual redeliver succeeds while the sweep's attempt is in flight", async () => {
    const t0 = new Date("2031-03-01T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/raced") });
    const delivery = await dueDelivery(endpoint.id, "raced-1", t0);
    const config = deliveryConfig(context());
    await claimDueDeliveries(h.database.db, { now: t0, batch: 10, leaseSeconds: 60 });

    // The sweep's attempt is slow and fails; the manual one succeeds meanwhile.
    let n = 0;
    receiver.reply = () => (n++ === 0 ? { status: 500, delayMs: 400 } : { status: 200 });
    const sweep = sendDeliveries(h.database.db, [delivery.id], {
      now: () => t0,
      config,
      concurrency: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await attemptDelivery(h.database.db, delivery.id, { mode: "manual", now: t0, config });
    await sweep;

    expect(receiver.to("/raced")).toHaveLength(2);
    expect(await deliveryRow(delivery.id)).toMatchObject({
      status: "SUCCEEDED",
      attemptCount: 2,
      nextAttemptAt: null,
    });
  });
});
