import { randomUUID } from "node:crypto";
import { type Db, webhookDeliveries, webhookDeliveryAttempts } from "@minispod/db";
import { AppError, keyset, type Page, type PageQuery } from "@minispod/shared";
import {
  type AttemptRow,
  attemptDelivery,
  type DeliveryConfig,
  type DeliveryRow,
  type EndpointRow,
  newMessageId,
  PING_TYPE,
  type WebhookMessage,
} from "@minispod/webhooks";
import { and, asc, eq } from "drizzle-orm";

export function toDeliveryDto(row: DeliveryRow) {
  return {
    id: row.id,
    endpointId: row.endpointId,
    messageId: row.messageId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attemptCount: row.attemptCount,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

export function toAttemptDto(row: AttemptRow) {
  return {
    id: row.id,
    attemptNumber: row.attemptNumber,
    statusCode: row.statusCode,
    durationMs: row.durationMs,
    error: row.error,
    responseBody: row.responseBody,
    createdAt: row.createdAt.toISOString(),
  };
}

export async function listDeliveries(
  db: Db,
  endpointId: string,
  query: PageQuery,
): Promise<Page<ReturnType<typeof toDeliveryDto>>> {
  const p = keyset(webhookDeliveries.createdAt, webhookDeliveries.id, query);
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.endpointId, endpointId), p.where))
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(rows, toDeliveryDto);
}

/** One delivery of `endpointId` with its payload and every attempt, oldest first. */
export async function deliveryDetail(db: Db, endpointId: string, deliveryId: string) {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId)));
  if (!row)
    throw new AppError("NOT_FOUND", { detail: "No delivery with this id for this endpoint." });
  const attempts = await db
    .select()
    .from(webhookDeliveryAttempts)
    .where(eq(webhookDeliveryAttempts.deliveryId, row.id))
    .orderBy(asc(webhookDeliveryAttempts.attemptNumber));
  return { ...toDeliveryDto(row), payload: row.payload, attempts: attempts.map(toAttemptDto) };
}

/**
 * Sends a `ping` message to the endpoint now, through the same signing and
 * SSRF-guarded path as real events, and keeps it in the delivery log. One
 * attempt, no retries. Works on a disabled endpoint, so a customer can check
 * a fix before re-enabling.
 */
export async function sendTestPing(input: {
  db: Db;
  endpoint: EndpointRow;
  config: DeliveryConfig;
  now: Date;
}) {
  const { db, endpoint, now } = input;
  const payload: WebhookMessage = {
    type: PING_TYPE,
    timestamp: now.toISOString(),
    data: { endpointId: endpoint.id, message: "Test ping from minispod." },
  };
  const [delivery] = await db
    .insert(webhookDeliveries)
    .values({
      endpointId: endpoint.id,
      messageId: newMessageId(),
      eventId: `ping_${randomUUID()}`,
      eventType: PING_TYPE,
      payload,
      // No next attempt: the retry sweep never picks a ping up.
      nextAttemptAt: null,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return attemptDelivery(db, delivery!.id, { mode: "single", now, config: input.config });
}

/** Sends an existing delivery again now, as a new attempt with the same `webhook-id`. */
export async function redeliver(input: {
  db: Db;
  endpointId: string;
  deliveryId: string;
  config: DeliveryConfig;
  now: Date;
}) {
  const [row] = await input.db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.id, input.deliveryId),
        eq(webhookDeliveries.endpointId, input.endpointId),
      ),
    );
  if (!row)
    throw new AppError("NOT_FOUND", { detail: "No delivery with this id for this endpoint." });
  return attemptDelivery(input.db, row.id, {
    mode: "manual",
    now: input.now,
    config: input.config,
  });
}
