import { webhookDeliveries, webhookEndpoints } from "@minispod/db";
import { shortType } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { startTestReceiver, type TestReceiver } from "@minispod/webhooks/test-receiver";
import { eq, inArray } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { webhookDispatcherFunction } from "../src/function";
import { fanOut } from "../src/services/fan-out";
import { makeEndpoint, postEvent, subscriptionEvent, verifyAsSent } from "./helpers";

let h: Harness;
let app: Hono;
let receiver: TestReceiver;

beforeAll(async () => {
  h = await createHarness();
  receiver = await startTestReceiver();
  // The receiver listens on 127.0.0.1, which only WEBHOOK_ALLOW_PRIVATE lets through.
  app = createApp(
    h.context(webhookDispatcherFunction, { WEBHOOK_ALLOW_PRIVATE: "true" }),
  ) as unknown as Hono;
});
afterAll(async () => {
  await receiver.close();
  await h.close();
});
beforeEach(() => {
  receiver.reply = () => ({ status: 200, body: "ok" });
});

const deliveriesOf = (endpointId: string) =>
  h.database.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.endpointId, endpointId));

describe("fan-out", () => {
  it("sends a signed Standard Webhooks message to each matching enabled endpoint of the owner", async () => {
    const alice = await h.user();
    const bob = await h.user();
    const exact = await makeEndpoint(h, alice.id, {
      url: receiver.url("/a-exact"),
      events: ["subscription.activated"],
    });
    const all = await makeEndpoint(h, alice.id, { url: receiver.url("/a-all"), events: ["*"] });
    const other = await makeEndpoint(h, alice.id, {
      url: receiver.url("/a-other"),
      events: ["instance.running"],
    });
    const off = await makeEndpoint(h, alice.id, { url: receiver.url("/a-off"), enabled: false });
    const bobs = await makeEndpoint(h, bob.id, { url: receiver.url("/b-all") });
    const event = subscriptionEvent(alice.id);

    const response = await postEvent(app, event);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: "processed" });

    for (const [endpoint, path] of [
      [exact, "/a-exact"],
      [all, "/a-all"],
    ] as const) {
      const [request] = receiver.to(path);
      expect(request).toBeDefined();
      expect(request!.headers["content-type"]).toBe("application/json");
      expect(request!.headers["user-agent"]).toBe("minispod-webhooks/1");
      const verified = verifyAsSent(endpoint.secret, request!) as Record<string, unknown>;
      expect(verified).toEqual({
        type: "subscription.activated",
        timestamp: event.time,
        data: event.data,
      });
      const [delivery] = await deliveriesOf(endpoint.id);
      expect(delivery).toMatchObject({
        status: "SUCCEEDED",
        attemptCount: 1,
        lastStatusCode: 200,
        eventId: event.id,
      });
      expect(request!.headers["webhook-id"]).toBe(delivery!.messageId);
    }
    expect(receiver.to("/a-other")).toHaveLength(0);
    expect(receiver.to("/a-off")).toHaveLength(0);
    expect(receiver.to("/b-all")).toHaveLength(0);
    expect(await deliveriesOf(other.id)).toHaveLength(0);
    expect(await deliveriesOf(off.id)).toHaveLength(0);
    expect(await deliveriesOf(bobs.id)).toHaveLength(0);
  });

  it("writes one delivery per event and endpoint however often the event is redelivered", async () => {
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/redelivered") });
    const event = subscriptionEvent(alice.id, "subscription.renewed");

    expect(await (await postEvent(app, event)).json()).toEqual({ outcome: "processed" });
    expect(await (await postEvent(app, event)).json()).toEqual({ outcome: "duplicate" });
    // Past the consumer's dedupe, the unique (endpoint, event) index still holds.
    const again = await h.database.db.transaction((tx) =>
      fanOut(tx, {
        event,
        type: shortType(event.type)!,
        data: { userId: alice.id },
        now: new Date(),
        leaseSeconds: 60,
      }),
    );
    expect(again).toEqual([]);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
    expect(receiver.to("/redelivered")).toHaveLength(1);
  });

  it("sends nothing to the endpoints of a disabled account", async () => {
    const alice = await h.user({ disabled: true });
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/disabled-owner") });
    expect(await (await postEvent(app, subscriptionEvent(alice.id))).json()).toEqual({
      outcome: "processed",
    });
    expect(await deliveriesOf(endpoint.id)).toHaveLength(0);
    expect(receiver.to("/disabled-owner")).toHaveLength(0);
  });

  it("ignores event types that are not customer-facing", async () => {
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/ignored") });
    const event = {
      ...subscriptionEvent(alice.id),
      type: "dev.minispod.user.password_changed",
      data: { userId: alice.id, email: alice.email },
    };
    expect(await (await postEvent(app, event)).json()).toEqual({ outcome: "ignored" });
    expect(await deliveriesOf(endpoint.id)).toHaveLength(0);
  });

  it("answers 422 to a customer-facing event whose data does not match its schema", async () => {
    const event = { ...subscriptionEvent("x"), data: { nothing: true } };
    expect((await postEvent(app, event)).status).toBe(422);
  });

  it("records the first failed attempt, schedules a retry and still answers 200", async () => {
    const alice = await h.user();
    const endpoint = await makeEndpoint(h, alice.id, { url: receiver.url("/down") });
    receiver.reply = () => ({ status: 503, body: "x".repeat(5000) });
    const response = await postEvent(app, subscriptionEvent(alice.id));
    expect(response.status).toBe(200);
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(delivery).toMatchObject({
      status: "PENDING",
      attemptCount: 1,
      lastStatusCode: 503,
      lastError: "HTTP 503",
    });
    expect(delivery!.nextAttemptAt!.getTime() - delivery!.lastAttemptAt!.getTime()).toBe(5000);
    const [row] = await h.database.db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.id, endpoint.id));
    expect(row!.failingSince).toEqual(delivery!.lastAttemptAt);
  });

  it("sends every matching endpoint even when some fail", async () => {
    const alice = await h.user();
    const ok = await makeEndpoint(h, alice.id, { url: receiver.url("/mixed-ok") });
    const bad = await makeEndpoint(h, alice.id, { url: receiver.url("/mixed-bad") });
    receiver.reply = (r) => ({ status: r.path === "/mixed-bad" ? 500 : 204 });
    await postEvent(app, subscriptionEvent(alice.id));
    const rows = await h.database.db
      .select()
      .from(webhookDeliveries)
      .where(inArray(webhookDeliveries.endpointId, [ok.id, bad.id]));
    expect(rows.map((r) => [r.endpointId === ok.id, r.status]).sort()).toEqual([
      [false, "PENDING"],
      [true, "SUCCEEDED"],
    ]);
  });
});
