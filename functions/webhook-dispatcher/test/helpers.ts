import { randomUUID } from "node:crypto";
import { webhookEndpoints } from "@minispod/db";
import { type CloudEventMessage, type EventType, fullType, toBinaryHttp } from "@minispod/shared";
import type { Harness } from "@minispod/shared/testing";
import { generateWebhookSecret } from "@minispod/webhooks";
import type { ReceivedRequest } from "@minispod/webhooks/test-receiver";
import type { Hono } from "hono";
import { Webhook } from "standardwebhooks";
import { vi } from "vitest";

/** A customer-facing subscription event owned by `userId`. */
export function subscriptionEvent(
  userId: string,
  type: EventType = "subscription.activated",
  time = new Date(),
): CloudEventMessage {
  return {
    id: randomUUID(),
    type: fullType(type),
    source: "subscriptions",
    subject: randomUUID(),
    time: time.toISOString(),
    data: {
      userId,
      subscriptionId: randomUUID(),
      serviceId: randomUUID(),
      serviceSlug: "ghost",
      serviceName: "Ghost",
      status: "ACTIVE",
      currentPeriodStart: time.toISOString(),
      currentPeriodEnd: new Date(time.getTime() + 30 * 86_400_000).toISOString(),
      autoRenew: true,
    },
  };
}

/** Delivers `event` the way a Knative Trigger does: binary-mode CloudEvent over HTTP. */
export function postEvent(app: Hono, event: CloudEventMessage) {
  const { headers, body } = toBinaryHttp(event);
  return app.request("/events", { method: "POST", headers, body });
}

export async function makeEndpoint(
  h: Harness,
  userId: string,
  options: { url: string; events?: string[]; enabled?: boolean },
) {
  const [row] = await h.database.db
    .insert(webhookEndpoints)
    .values({
      userId,
      url: options.url,
      eventTypes: options.events ?? ["*"],
      secret: generateWebhookSecret(),
      enabled: options.enabled ?? true,
    })
    .returning();
  return row!;
}

/**
 * Verifies a received request with the independent `standardwebhooks`
 * library, as the receiver would have at the moment it was sent: the library
 * checks the timestamp against its own clock, and tests move ours by days.
 */
export function verifyAsSent(secret: string, request: ReceivedRequest): unknown {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Number(request.headers["webhook-timestamp"]) * 1000);
  try {
    return new Webhook(secret).verify(request.body, request.headers);
  } finally {
    vi.useRealTimers();
  }
}
