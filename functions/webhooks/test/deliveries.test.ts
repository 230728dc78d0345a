import { outboxEvents, webhookEndpoints } from "@minispod/db";
import type { AppEnv } from "@minispod/shared";
import { createHarness, type Harness, json, type TestUser } from "@minispod/shared/testing";
import type { Resolver } from "@minispod/webhooks";
import { startTestReceiver, type TestReceiver } from "@minispod/webhooks/test-receiver";
import { and, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { webhooksFunction } from "../src/function";
import { bearer, createEndpoint, type DeliveryBody, verifyAsSent } from "./helpers";

let h: Harness;
let app: Hono<AppEnv>;
let guarded: Hono<AppEnv>;
let receiver: TestReceiver;
let alice: TestUser;
const HOUR = 3_600_000;

/** internal.example.test is a public-looking name that points inside the cluster. */
const resolver: Resolver = async (hostname) =>
  hostname === "internal.example.test" ? [{ address: "10.0.0.8", family: 4 }] : [];

beforeAll(async () => {
  h = await createHarness();
  receiver = await startTestReceiver();
  // The receiver is on 127.0.0.1: only reachable with WEBHOOK_ALLOW_PRIVATE.
  app = await h.app(webhooksFunction, { WEBHOOK_ALLOW_PRIVATE: "true" });
  guarded = createApp({ ...h.context(webhooksFunction), resolver });
  alice = await h.user();
});
afterAll(async () => {
  await receiver.close();
  await h.close();
});
beforeEach(() => {
  receiver.reply = () => ({ status: 200, body: "thanks" });
});

const ping = async (target: Hono<AppEnv>, id: string, user = alice) => {
  const response = await target.request(`/api/v1/webhooks/${id}/test`, {
    method: "POST",
    headers: bearer(user),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as DeliveryBody;
};

describe("test ping", () => {
  it("sends a signed ping through the delivery path and returns the delivery with its attempt", async () => {
    const endpoint = await createEndpoint(app, alice, {
      url: receiver.url("/ping"),
      events: ["*"],
    });
    const delivery = await ping(app, endpoint.id);
    expect(delivery).toMatchObject({
      eventType: "ping",
      status: "SUCCEEDED",
      attemptCount: 1,
      lastStatusCode: 200,
      nextAttemptAt: null,
      payload: { type: "ping", data: { endpointId: endpoint.id } },
    });
    expect(delivery.attempts).toEqual([
      expect.objectContaining({
        attemptNumber: 1,
        statusCode: 200,
        error: null,
        responseBody: "thanks",
      }),
    ]);
    const [request] = receiver.to("/ping");
    expect(request!.headers["webhook-id"]).toBe(delivery.messageId);
    expect(request!.headers["user-agent"]).toBe("minispod-webhooks/1");
    expect(verifyAsSent(endpoint.secret, request!)).toMatchObject({ type: "ping" });
  });

  it("records a failed ping as FAILED without retries", async () => {
    const endpoint = await createEndpoint(app, alice, {
      url: receiver.url("/ping-fail"),
      events: ["*"],
    });
    receiver.reply = () => ({ status: 500, body: "boom" });
    const delivery = await ping(app, endpoint.id);
    expect(delivery).toMatchObject({
      status: "FAILED",
      attemptCount: 1,
      lastStatusCode: 500,
      nextAttemptAt: null,
    });
    expect(delivery.attempts[0]).toMatchObject({
      statusCode: 500,
      error: "HTTP 500",
      responseBody: "boom",
    });
  });
});

describe("secret rotation", () => {
  it("signs with both secrets during the overlap, then only with the new one", async () => {
    const t0 = new Date("2030-06-01T00:00:00.000Z");
    h.clock.now = t0;
    const endpoint = await createEndpoint(app, alice, {
      url: receiver.url("/rotating"),
      events: ["*"],
    });
    const oldSecret = endpoint.secret;

    const rotated = await app.request(`/api/v1/webhooks/${endpoint.id}/rotate-secret`, {
      method: "POST",
      headers: bearer(alice),
    });
    expect(rotated.status).toBe(200);
    const body = (await rotated.json()) as { secret: string; previousSecretExpiresAt: string };
    const newSecret = body.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(body.previousSecretExpiresAt).toBe(new Date(t0.getTime() + 24 * HOUR).toISOString());

    h.clock.now = new Date(t0.getTime() + 23 * HOUR);
    await ping(app, endpoint.id);
    const during = receiver.to("/rotating").at(-1)!;
    expect(during.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(verifyAsSent(oldSecret, during)).toMatchObject({ type: "ping" });
    expect(verifyAsSent(newSecret, during)).toMatchObject({ type: "ping" });

    h.clock.now = new Date(t0.getTime() + 24 * HOUR + 1000);
    await ping(app, endpoint.id);
    const after = receiver.to("/rotating").at(-1)!;
    expect(after.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(verifyAsSent(newSecret, after)).toMatchObject({ type: "ping" });
    expect(() => verifyAsSent(oldSecret, after)).toThrow();
  });
});

describe("delivery log and redelivery", () => {
  it("lists deliveries newest first, shows attempts, and redelivers as a new attempt of the same message", async () => {
    const t0 = new Date();
    h.clock.now = t0;
    const endpoint = await createEndpoint(app, alice, { url: receiver.url("/log"), events: ["*"] });
    receiver.reply = () => ({ status: 503 });
    const first = await ping(app, endpoint.id);
    h.clock.now = new Date(t0.getTime() + 1000);
    receiver.reply = () => ({ status: 200 });
    const second = await ping(app, endpoint.id);

    const base = `/api/v1/webhooks/${endpoint.id}/deliveries`;
    const page1 = await app.request(`${base}?limit=1`, { headers: bearer(alice) });
    const list1 = (await page1.json()) as { items: DeliveryBody[]; nextCursor: string };
    expect(list1.items.map((d) => d.id)).toEqual([second.id]);
    expect(list1.items[0]).toMatchObject({
      status: "SUCCEEDED",
      attemptCount: 1,
      lastStatusCode: 200,
      nextAttemptAt: null,
    });
    expect(list1.items[0]).toHaveProperty("createdAt");
    const page2 = await app.request(`${base}?limit=1&cursor=${list1.nextCursor}`, {
      headers: bearer(alice),
    });
    expect(await page2.json()).toMatchObject({
      items: [{ id: first.id, status: "FAILED" }],
      nextCursor: null,
    });

    const redelivered = await app.request(`${base}/${first.id}/redeliver`, {
      method: "POST",
      headers: bearer(alice),
    });
    expect(redelivered.status).toBe(200);
    expect(await redelivered.json()).toMatchObject({
      id: first.id,
      status: "SUCCEEDED",
      attemptCount: 2,
    });

    const detail = await app.request(`${base}/${first.id}`, { headers: bearer(alice) });
    const shown = (await detail.json()) as DeliveryBody;
    expect(shown.attempts.map((a) => [a.attemptNumber, a.statusCode])).toEqual([
      [1, 503],
      [2, 200],
    ]);
    expect(shown.attempts.every((a) => typeof a.durationMs === "number" && a.createdAt)).toBe(true);
    const sent = receiver.to("/log").filter((r) => r.headers["webhook-id"] === first.messageId);
    expect(sent).toHaveLength(2);
    for (const request of sent) expect(() => verifyAsSent(endpoint.secret, request)).not.toThrow();
  });

  it("answers 404 for a delivery of another endpoint", async () => {
    const one = await createEndpoint(app, alice, { url: receiver.url("/one"), events: ["*"] });
    const two = await createEndpoint(app, alice, { url: receiver.url("/two"), events: ["*"] });
    const delivery = await ping(app, one.id);
    const wrong = `/api/v1/webhooks/${two.id}/deliveries/${delivery.id}`;
    expect((await app.request(wrong, { headers: bearer(alice) })).status).toBe(404);
    expect(
      (await app.request(`${wrong}/redeliver`, { method: "POST", headers: bearer(alice) })).status,
    ).toBe(404);
  });

  it("disables the endpoint when a manual send gets 410 Gone, and tells the owner", async () => {
    const endpoint = await createEndpoint(app, alice, {
      url: receiver.url("/gone"),
      events: ["*"],
    });
    receiver.reply = () => ({ status: 410 });
    await ping(app, endpoint.id);
    const [row] = await h.database.db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.id, endpoint.id));
    expect(row!.enabled).toBe(false);
    const events = await h.database.db
      .select()
      .from(outboxEvents)
      .where(
        and(
          eq(outboxEvents.type, "dev.minispod.webhook.endpoint_disabled"),
          eq(outboxEvents.subject, endpoint.id),
        ),
      );
    expect(events).toHaveLength(1);
    // Re-enabling through the API starts afresh.
    const patched = await app.request(
      `/api/v1/webhooks/${endpoint.id}`,
      json({ enabled: true }, bearer(alice), "PATCH"),
    );
    expect(await patched.json()).toMatchObject({
      enabled: true,
      disabledReason: null,
      failingSince: null,
    });
  });
});

describe("SSRF guard", () => {
  it("refuses to ping a name that resolves to a private address, recording why", async () => {
    const bob = await h.user();
    const endpoint = await createEndpoint(guarded, bob, {
      url: "https://internal.example.test/hook",
      events: ["*"],
    });
    const delivery = await ping(guarded, endpoint.id, bob);
    expect(delivery).toMatchObject({ status: "FAILED", lastStatusCode: null });
    expect(delivery.attempts[0]!.error).toMatch(
      /^refused: internal\.example\.test resolves to 10\.0\.0\.8/,
    );
  });
});

describe("manual send limit", () => {
  it("answers 429 with Retry-After past WEBHOOK_MANUAL_SEND_LIMIT test pings and redeliveries an hour", async () => {
    const limited = await h.app(webhooksFunction, {
      WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_MANUAL_SEND_LIMIT: "2",
    });
    const carol = await h.user();
    const endpoint = await createEndpoint(limited, carol, {
      url: receiver.url("/limited"),
      events: ["*"],
    });
    const delivery = await ping(limited, endpoint.id, carol);
    const redeliver = await limited.request(
      `/api/v1/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`,
      { method: "POST", headers: bearer(carol) },
    );
    expect(redeliver.status).toBe(200);
    const third = await limited.request(`/api/v1/webhooks/${endpoint.id}/test`, {
      method: "POST",
      headers: bearer(carol),
    });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(receiver.to("/limited")).toHaveLength(2);
  });
});
