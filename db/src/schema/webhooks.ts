import { sql } from "drizzle-orm";
import {
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, logId, ts, updatedAt } from "./_common";
import { users } from "./users";

export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description").notNull().default(""),
    /** Event types without the `dev.minispod.` prefix, e.g. "subscription.activated". */
    eventTypes: text("event_types").array().notNull().default(sql`'{}'::text[]`),
    /** Standard Webhooks secret, "whsec_<base64>". */
    secret: text("secret").notNull(),
    /** Previous secret during a rotation overlap; both sign until it expires. */
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: ts("previous_secret_expires_at"),
    enabled: boolean("enabled").notNull().default(true),
    disabledReason: text("disabled_reason"),
    disabledAt: ts("disabled_at"),
    /** First failure of the current unbroken run of failures; null when healthy. */
    failingSince: ts("failing_since"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("webhook_endpoints_user_idx").on(t.userId, t.createdAt, t.id)],
);

export const webhookDeliveryStatus = pgEnum("webhook_delivery_status", [
  "PENDING",
  "SUCCEEDED",
  "FAILED",
]);
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatus.enumValues)[number];

/** One message for one endpoint; retried until it succeeds or the schedule runs out. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: logId(),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    /** The `webhook-id` header: stable across retries of this message. */
    messageId: text("message_id").notNull(),
    /** CloudEvent id that caused it (or a ping id). */
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: jsonb("payload").notNull(),
    status: webhookDeliveryStatus("status").notNull().default("PENDING"),
    attemptCount: integer("attempt_count").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at"),
    lastAttemptAt: ts("last_attempt_at"),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    /** W3C trace of the event that caused it: every attempt, retries too, joins that trace. */
    traceparent: text("traceparent"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // One delivery per event and endpoint, however often the event is redelivered.
    uniqueIndex("webhook_deliveries_endpoint_event_uq").on(t.endpointId, t.eventId),
    index("webhook_deliveries_due_idx").on(t.nextAttemptAt).where(sql`${t.status} = 'PENDING'`),
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.createdAt, t.id),
  ],
);

export const webhookDeliveryAttempts = pgTable(
  "webhook_delivery_attempts",
  {
    id: logId(),
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    attemptNumber: integer("attempt_number").notNull(),
    statusCode: integer("status_code"),
    durationMs: integer("duration_ms").notNull(),
    error: text("error"),
    responseBody: text("response_body"),
    createdAt: createdAt(),
  },
  (t) => [index("webhook_delivery_attempts_delivery_idx").on(t.deliveryId, t.createdAt)],
);
