import { type Db, outboxEvents, processedEvents } from "@minispod/db";
import { and, inArray, isNotNull, lt, sql } from "drizzle-orm";
import { Counter, type Registry } from "prom-client";
import { envField } from "../env";
import { type Metrics, perRegistry } from "../metrics";

/**
 * How long consumers remember the events they handled (`processed_events`).
 * outbox-relay purges older records; the admin refuses to replay dead letters
 * older than this, since consumers that handled them would act again. Keep it
 * well above the broker's longest retry and any replay you may want to make.
 */
export const processedEventsRetentionEntries = {
  PROCESSED_EVENTS_RETENTION: envField.duration("30d"),
};

export interface EventPurgeOptions {
  /** Rows older than this go. */
  before: Date;
  /** Rows deleted per transaction. */
  batchSize: number;
  /** Most batches per run: bounds one invocation; the next run continues. */
  maxBatches: number;
}

export interface EventPurgeResult {
  purged: number;
  /** True when the last batch was full: more may be old than this run took. */
  more: boolean;
}

async function inBatches(
  options: EventPurgeOptions,
  batch: () => Promise<number>,
): Promise<EventPurgeResult> {
  let purged = 0;
  for (let i = 0; i < options.maxBatches; i++) {
    const deleted = await batch();
    purged += deleted;
    if (deleted < options.batchSize) return { purged, more: false };
  }
  return { purged, more: true };
}

/**
 * Deletes outbox rows published before `before`, oldest first, in batches
 * claimed with SKIP LOCKED (overlapping runs split the rows). Unpublished rows
 * stay whatever their age: the relay is still trying them. A dead letter whose
 * row is gone can still be replayed (the replay inserts it again, same id).
 */
export function purgePublishedEvents(db: Db, options: EventPurgeOptions) {
  return inBatches(options, async () => {
    const old = db
      .select({ id: outboxEvents.id })
      .from(outboxEvents)
      .where(and(isNotNull(outboxEvents.publishedAt), lt(outboxEvents.publishedAt, options.before)))
      .orderBy(outboxEvents.publishedAt)
      .limit(options.batchSize)
      .for("update", { skipLocked: true });
    const gone = await db
      .delete(outboxEvents)
      .where(inArray(outboxEvents.id, old))
      .returning({ id: outboxEvents.id });
    return gone.length;
  });
}

/**
 * Deletes consumers' records of events they handled before `before`. Past
 * that age a redelivery would be handled again, so dead letters that old are
 * no longer replayed (see `replayDeadLetters`' `rememberedSince`). Rows are found
 * through the BRIN index on `processed_at` and deleted by their key.
 */
export function purgeProcessedEvents(db: Db, options: EventPurgeOptions) {
  const old = lt(processedEvents.processedAt, options.before);
  return inBatches(options, async () => {
    // One statement: claim a batch by physical row id, then delete exactly those rows.
    const gone = await db
      .delete(processedEvents)
      .where(
        and(
          sql`ctid = any(array(${db
            .select({ ctid: sql`ctid` })
            .from(processedEvents)
            .where(old)
            .limit(options.batchSize)
            .for("update", { skipLocked: true })}))`,
          old,
        ),
      )
      .returning({ eventId: processedEvents.eventId });
    return gone.length;
  });
}

const purgeCounter = perRegistry(
  (registry: Registry) =>
    new Counter({
      name: "minispod_event_records_purged_total",
      help: "Published outbox rows and consumers' records of handled events deleted after their retention, by table.",
      labelNames: ["table"],
      registers: [registry],
    }),
);

/** `minispod_event_records_purged_total{table}` of a function's registry (made once). */
export function eventPurgeCounter(metrics: Metrics): Counter<"table"> {
  return purgeCounter(metrics.registry);
}
