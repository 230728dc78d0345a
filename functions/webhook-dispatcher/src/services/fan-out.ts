import { type Db, users, webhookDeliveries, webhookEndpoints } from "@minispod/db";
import { type CloudEventMessage, currentTraceparent, type EventType } from "@minispod/shared";
import { newMessageId, type WebhookMessage } from "@minispod/webhooks";
import { and, arrayOverlaps, eq, isNull } from "drizzle-orm";

/** Subscribes an endpoint to every customer-facing type (see the webhooks function). */
const ALL_EVENTS = "*";

/**
 * Writes one PENDING delivery per enabled endpoint of the event's owner whose
 * filter matches, in the consumer's transaction. The unique (endpoint, event)
 * index makes a replay of the same event add nothing, even past the consumer's
 * own dedupe. The first attempt is due only after `leaseSeconds`: the caller
 * sends right after the commit, and the sweep takes over only if that never
 * happened. Returns the ids of the new deliveries.
 */
export async function fanOut(
  tx: Db,
  input: {
    event: CloudEventMessage;
    type: EventType;
    data: { userId: string };
    now: Date;
    leaseSeconds: number;
  },
): Promise<string[]> {
  const { event, type, data, now } = input;
  const endpoints = await tx
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    // A disabled account's endpoints receive nothing, like its mailbox.
    .innerJoin(users, and(eq(users.id, webhookEndpoints.userId), isNull(users.disabledAt)))
    .where(
      and(
        eq(webhookEndpoints.userId, data.userId),
        eq(webhookEndpoints.enabled, true),
        arrayOverlaps(webhookEndpoints.eventTypes, [type, ALL_EVENTS]),
      ),
    );
  if (endpoints.length === 0) return [];
  const time = new Date(event.time);
  const payload: WebhookMessage = {
    type,
    timestamp: (Number.isNaN(time.getTime()) ? now : time).toISOString(),
    data,
  };
  const traceparent = currentTraceparent() ?? null;
  const rows = await tx
    .insert(webhookDeliveries)
    .values(
      endpoints.map((endpoint) => ({
        endpointId: endpoint.id,
        messageId: newMessageId(),
        eventId: event.id,
        eventType: type,
        payload,
        traceparent,
        nextAttemptAt: new Date(now.getTime() + input.leaseSeconds * 1000),
        createdAt: now,
        updatedAt: now,
      })),
    )
    .onConflictDoNothing({ target: [webhookDeliveries.endpointId, webhookDeliveries.eventId] })
    .returning({ id: webhookDeliveries.id });
  return rows.map((r) => r.id);
}
