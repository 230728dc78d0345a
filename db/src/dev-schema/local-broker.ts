import { index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, logId, ts } from "../schema/_common";

/**
 * The queue of the local runner's in-process broker (local mode only; the
 * cluster's Knative Broker keeps its own). One row per (Trigger, event) still to
 * deliver: publishing inserts the rows before the outbox marks the event
 * published, and a row is deleted only once its subscriber answered (or the
 * event went to the dead-letter sink), so a crash loses nothing.
 */
export const localBrokerDeliveries = pgTable(
  "local_broker_deliveries",
  {
    id: logId(),
    trigger: text("trigger").notNull(),
    eventId: text("event_id").notNull(),
    source: text("source").notNull(),
    /** The whole CloudEvent as published (attributes, extensions, data). */
    event: jsonb("event").$type<Record<string, unknown>>().notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull().defaultNow(),
    lastError: text("last_error"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("local_broker_deliveries_trigger_event_idx").on(t.trigger, t.source, t.eventId),
    index("local_broker_deliveries_due_idx").on(t.nextAttemptAt),
  ],
);
