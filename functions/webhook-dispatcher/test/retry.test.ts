import {
  auditLog,
  outboxEvents,
  webhookDeliveries,
  webhookDeliveryAttempts,
  webhookEndpoints,
} from "@minispod/db";
import { parseTraceparent } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { RETRY_SCHEDULE_SECONDS } from "@minispod/webhooks";
import { startTestReceiver, type TestReceiver } from "@minispod/webhooks/test-receiver";
import { and, asc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { webhookDispatcherFunction } from "../src/function";
import { claimDueDeliveries } from "../src/services/retry";
import { makeEndpoint, postEvent, subscriptionEvent, verifyAsSent } from "./helpers";

let h: Harness;
let app: Hono;
let receiver: TestReceiver;
const DAY = 86_400_000;

beforeAll(async () => {
  h = await createHarness();
  receiver = await startTestReceiver();
  app = createApp(
    h.context(webhookDispatcherFunction, { WEBHOOK_ALLOW_PRIVATE: "true" }),
  ) as unknown as Hono;
});
afterAll(async () => {
  await receiver.close();
  await h.close();
});
beforeEach(() => {
  receiver.reply = () => ({ status: 200 });
});

const sweep = async () => {
  const response = await app.request("/cron/retry", { method: "POST" });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    claimed: number;
    closed: number;
    succeeded: number;
    failed: number;
  };
};
const deliveryOf = async (endpointId: string) => {
  const [row] = await h.database.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.endpointId, endpointId));
  return row!;
};
const endpointRow = async (id: string) => {
  const [row] = await h.database.db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.id, id));
  return row!;
};
const disabledEvents = (endpointId: string) =>
  h.database.db
    .select()
    .from(outboxEvents)
    .where(
      and(
        eq(outboxEvents.type, "dev.minispod.webhook.endpoint_disabled"),
        eq(outboxEvents.subject, endpointId),
      ),
    );

describe("retry schedule", () => {
  it("retries on the schedule (5 s … 24 h), signs every attempt, then gives up as FAILED", async () => {
    const t0 = new Date("2030-01-01T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/always-500") });
    receiver.reply = () => ({ status: 500, body: "nope" });
    await postEvent(app, subscriptionEvent(alice.id, "subscription.activated", t0));

    let expectedAt = t0.getTime();
    const expectedTimes = [expectedAt];
    for (const delay of RETRY_SCHEDULE_SECONDS.slice(1)) {
      expectedAt += delay * 1000;
      expectedTimes.push(expectedAt);
      const before = await deliveryOf(endpoint.id);
      expect(before.status).toBe("PENDING");
      expect(before.nextAttemptAt!.getTime()).toBe(expectedAt);
      // Not due a second early…
      h.clock.now = new Date(expectedAt - 1000);
      expect((await sweep()).claimed).toBe(0);
      // …and sent once it is.
      h.clock.now = new Date(expectedAt);
      expect(await sweep()).toMatchObject({ claimed: 1, failed: 1 });
    }

    const delivery = await deliveryOf(endpoint.id);
    expect(delivery).toMatchObject({
      status: "FAILED",
      attemptCount: 10,
      nextAttemptAt: null,
      lastStatusCode: 500,
    });
    const attempts = await h.database.db
      .select()
      .from(webhookDeliveryAttempts)
      .where(eq(webhookDeliveryAttempts.deliveryId, delivery.id))
      .orderBy(asc(webhookDeliveryAttempts.attemptNumber));
    expect(attempts.map((a) => a.createdAt.getTime())).toEqual(expectedTimes);
    expect(attempts.map((a) => a.attemptNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(attempts.every((a) => a.statusCode === 500 && a.responseBody === "nope")).toBe(true);
    // The schedule spans more than a day.
    expect(expectedTimes.at(-1)! - t0.getTime()).toBeGreaterThan(DAY);

    const requests = receiver.to("/always-500");
    expect(requests).toHaveLength(10);
    expect(new Set(requests.map((r) => r.headers["webhook-id"]))).toEqual(
      new Set([delivery.messageId]),
    );
    expect(requests.map((r) => Number(r.headers["webhook-timestamp"]) * 1000)).toEqual(
      expectedTimes,
    );
    for (const request of requests)
      expect(() => verifyAsSent(endpoint.secret, request)).not.toThrow();

    h.clock.now = new Date(expectedAt + 7 * DAY);
    expect((await sweep()).claimed).toBe(0);
    // About three days of failure is less than WEBHOOK_DISABLE_AFTER (5 days): still enabled.
    expect((await endpointRow(endpoint.id)).enabled).toBe(true);
  });

  it("stops retrying once an attempt succeeds and clears failingSince", async () => {
    const t0 = new Date("2030-02-01T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/flaky") });
    receiver.reply = () => ({ status: 502 });
    await postEvent(app, subscriptionEvent(alice.id));
    expect((await endpointRow(endpoint.id)).failingSince).toEqual(t0);

    receiver.reply = () => ({ status: 200 });
    h.clock.now = new Date(t0.getTime() + 5000);
    expect(await sweep()).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(await deliveryOf(endpoint.id)).toMatchObject({
      status: "SUCCEEDED",
      attemptCount: 2,
      nextAttemptAt: null,
    });
    expect((await endpointRow(endpoint.id)).failingSince).toBeNull();
  });

  it("sends retries inside the trace of the event that caused them, each with a span of its own", async () => {
    const t0 = new Date("2030-02-15T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    await makeEndpoint(h, alice.id, { url: receiver.url("/traced-retry") });
    receiver.reply = () => ({ status: 503 });
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    await postEvent(app, {
      ...subscriptionEvent(alice.id, "subscription.activated", t0),
      extensions: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    receiver.reply = () => ({ status: 200 });
    h.clock.now = new Date(t0.getTime() + 5000);
    expect(await sweep()).toMatchObject({ claimed: 1, succeeded: 1 });

    const headers = receiver.to("/traced-retry").map((r) => String(r.headers.traceparent));
    expect(headers).toHaveLength(2);
    expect(headers.map((header) => parseTraceparent(header)?.traceId)).toEqual([traceId, traceId]);
    const spans = headers.map((header) => header.split("-")[2]);
    expect(new Set(spans).size).toBe(2);
    expect(spans).not.toContain("b7ad6b7169203331");
  });

  it("leases claimed deliveries, so overlapping sweeps send each once", async () => {
    const t0 = new Date("2030-03-01T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/slow") });
    receiver.reply = () => ({ status: 500 });
    await postEvent(app, subscriptionEvent(alice.id));

    h.clock.now = new Date(t0.getTime() + 5000);
    receiver.reply = () => ({ status: 200, delayMs: 300 });
    const [first, second] = await Promise.all([sweep(), sweep()]);
    expect(first!.claimed + second!.claimed).toBe(1);
    expect(receiver.to("/slow")).toHaveLength(2);
    expect((await deliveryOf(endpoint.id)).status).toBe("SUCCEEDED");
  });

  it("does not hand a claimed delivery to a second claim until its lease runs out", async () => {
    const t0 = new Date("2030-03-15T00:00:00.000Z");
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/lease") });
    await h.database.db.insert(webhookDeliveries).values({
      endpointId: endpoint.id,
      messageId: "msg_lease",
      eventId: "lease-event",
      eventType: "subscription.activated",
      payload: {},
      nextAttemptAt: t0,
    });
    const claim = (now: Date) =>
      claimDueDeliveries(h.database.db, { now, batch: 10, leaseSeconds: 70 });
    expect((await claim(t0)).send).toHaveLength(1);
    expect((await claim(t0)).send).toHaveLength(0);
    expect((await claim(new Date(t0.getTime() + 69_000))).send).toHaveLength(0);
    expect((await claim(new Date(t0.getTime() + 70_000))).send).toHaveLength(1);
  });
});

describe("disabling endpoints", () => {
  it("disables an endpoint that answers 410 Gone at once and stops retrying", async () => {
    const t0 = new Date("2030-04-01T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/gone") });
    receiver.reply = () => ({ status: 410 });
    await postEvent(app, subscriptionEvent(alice.id));

    expect(await deliveryOf(endpoint.id)).toMatchObject({
      status: "FAILED",
      attemptCount: 1,
      nextAttemptAt: null,
    });
    const row = await endpointRow(endpoint.id);
    expect(row).toMatchObject({ enabled: false, disabledAt: t0 });
    expect(row.disabledReason).toContain("410");
    const [event] = await disabledEvents(endpoint.id);
    expect(event!.data).toEqual({
      userId: alice.id,
      endpointId: endpoint.id,
      url: endpoint.url,
      reason: row.disabledReason,
    });

    // A disabled endpoint receives nothing new.
    await postEvent(app, subscriptionEvent(alice.id));
    expect(receiver.to("/gone")).toHaveLength(1);
  });

  it("disables an endpoint failing for WEBHOOK_DISABLE_AFTER (5 days), emails its owner once, and closes its backlog", async () => {
    const t0 = new Date("2030-05-01T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/broken") });
    receiver.reply = () => ({ status: 500 });

    await postEvent(app, subscriptionEvent(alice.id));
    h.clock.now = new Date(t0.getTime() + 4 * DAY);
    await postEvent(app, subscriptionEvent(alice.id));
    expect((await endpointRow(endpoint.id)).enabled).toBe(true);
    expect(await disabledEvents(endpoint.id)).toHaveLength(0);

    h.clock.now = new Date(t0.getTime() + 5 * DAY);
    await postEvent(app, subscriptionEvent(alice.id));
    const row = await endpointRow(endpoint.id);
    expect(row.enabled).toBe(false);
    expect(row.disabledReason).toContain(t0.toISOString());
    const events = await disabledEvents(endpoint.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ userId: alice.id, endpointId: endpoint.id });
    const audits = await h.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.resourceId, endpoint.id));
    expect(audits.map((a) => [a.action, a.actorId, a.ownerId])).toEqual([
      ["webhook.disabled", null, alice.id],
    ]);

    // What was still scheduled is closed without being sent.
    const sent = receiver.to("/broken").length;
    h.clock.now = new Date(t0.getTime() + 6 * DAY);
    const result = await sweep();
    expect(result.closed).toBeGreaterThan(0);
    expect(receiver.to("/broken")).toHaveLength(sent);
    const pending = await h.database.db
      .select()
      .from(webhookDeliveries)
      .where(
        and(eq(webhookDeliveries.endpointId, endpoint.id), eq(webhookDeliveries.status, "PENDING")),
      );
    expect(pending).toHaveLength(0);
  });

  it("starts a new failure streak after a quiet spell instead of disabling a rarely used endpoint", async () => {
    const t0 = new Date("2031-01-01T00:00:00.000Z");
    h.clock.now = t0;
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/quiet") });
    receiver.reply = () => ({ status: 502 });
    await postEvent(app, subscriptionEvent(alice.id));
    // The retries of that event run their course within two days...
    for (const day of [1, 2]) {
      h.clock.now = new Date(t0.getTime() + day * DAY);
      await sweep();
    }
    expect((await endpointRow(endpoint.id)).failingSince).toEqual(t0);
    // ...then a month of silence, and one passing blip.
    const later = new Date(t0.getTime() + 30 * DAY);
    h.clock.now = later;
    await postEvent(app, subscriptionEvent(alice.id));
    const row = await endpointRow(endpoint.id);
    expect(row.enabled).toBe(true);
    expect(row.failingSince).toEqual(later);
    expect(await disabledEvents(endpoint.id)).toHaveLength(0);
  });
});

describe("minispod_webhook_deliveries_finished_total", () => {
  const finished = async (status: string) => {
    const text = await (await app.request("/metrics")).text();
    const line = new RegExp(
      `^minispod_webhook_deliveries_finished_total\\{status="${status}",function="webhook-dispatcher"\\} (\\d+)$`,
      "m",
    ).exec(text);
    if (!line) throw new Error(`no ${status} series in:\n${text}`);
    return Number(line[1]);
  };

  it("counts a delivery once when it ends: SUCCEEDED on a 2xx, FAILED on 410, not per retry", async () => {
    h.clock.now = new Date("2030-05-01T00:00:00.000Z");
    const before = { ok: await finished("SUCCEEDED"), failed: await finished("FAILED") };
    const alice = await h.user();
    await makeEndpoint(h, alice.id, { url: receiver.url("/ok") });
    await postEvent(app, subscriptionEvent(alice.id));
    expect(await finished("SUCCEEDED")).toBe(before.ok + 1);

    // A 500 schedules a retry: not finished yet.
    const bob = await h.user();
    const flaky = await makeEndpoint(h, bob.id, { url: receiver.url("/flaky") });
    receiver.reply = () => ({ status: 500 });
    await postEvent(app, subscriptionEvent(bob.id));
    expect((await deliveryOf(flaky.id)).status).toBe("PENDING");
    expect(await finished("FAILED")).toBe(before.failed);

    // The retry gets 410 Gone: the delivery ends FAILED, counted once.
    receiver.reply = () => ({ status: 410 });
    h.clock.now = new Date(h.clock.now.getTime() + DAY);
    await sweep();
    expect((await deliveryOf(flaky.id)).status).toBe("FAILED");
    expect(await finished("FAILED")).toBe(before.failed + 1);
    await sweep();
    expect(await finished("FAILED")).toBe(before.failed + 1);
    expect(await finished("SUCCEEDED")).toBe(before.ok + 1);
  });
});
