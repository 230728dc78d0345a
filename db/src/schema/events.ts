import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { createdAt, logId, ts } from "./_common";

/**
 * Transactional outbox: written in the same transaction as the state change,
 * sent to the broker afterwards, re-sent by outbox-relay until published.
 */
export const outboxEvents = pgTable(
  "outbox_events",
  {
    /** The CloudEvent id. */
    id: logId(),
    type: text("type").notNull(),
    source: text("source").notNull(),
    subject: text("subject"),
    data: jsonb("data").notNull(),
    time: ts("time").notNull().defaultNow(),
    publishedAt: ts("published_at"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    nextAttemptAt: ts("next_attempt_at").notNull().defaultNow(),
    /** W3C trace context of the action that caused the event (CloudEvents distributed tracing). */
    traceparent: text("traceparent"),
    createdAt: createdAt(),
  },
  (t) => [
    index("outbox_events_unpublished_idx").on(t.nextAttemptAt).where(sql`${t.publishedAt} is null`),
    // The retention purge finds published rows by age (OUTBOX_RETENTION_DAYS).
    index("outbox_events_published_idx").on(t.publishedAt).where(sql`${t.publishedAt} is not null`),
  ],
);

/** Events a consumer has already handled, recorded in the same transaction as its effect. */
export const processedEvents = pgTable(
  "processed_events",
  {
    consumer: text("consumer").notNull(),
    source: text("source").notNull(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    processedAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.consumer, t.source, t.eventId] }),
    // For the retention purge (PROCESSED_EVENTS_RETENTION). Rows arrive in time
    // order, so a BRIN index finds the old ones at almost no cost per insert.
    index("processed_events_processed_brin").using("brin", t.processedAt),
  ],
);

/** Events the broker gave up on (dead-letter sink); admins list and replay them. */
export const deadEvents = pgTable(
  "dead_events",
  {
    id: logId(),
    eventId: text("event_id").notNull(),
    source: text("source").notNull(),
    type: text("type").notNull(),
    subject: text("subject"),
    data: jsonb("data"),
    extensions: jsonb("extensions").$type<Record<string, unknown>>().notNull().default({}),
    /** The event's own CloudEvent `time` (when it happened), if it carried a valid one. */
    eventTime: ts("event_time"),
    receivedAt: createdAt(),
    replayedAt: ts("replayed_at"),
  },
  (t) => [index("dead_events_received_idx").on(t.receivedAt)],
);
