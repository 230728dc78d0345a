import { type Db, outboxEvents } from "@minispod/db";
import { and, asc, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import * as v from "valibot";
import { mapLimit } from "../concurrency";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { type EventData, type EventType, eventCatalogue, fullType } from "./catalogue";
import { eventMetrics, eventTypeLabel } from "./metrics";
import type { CloudEventMessage, EventPublisher } from "./publisher";
import { currentTraceparent } from "./trace";

export interface NewEvent<T extends EventType> {
  type: T;
  /** The emitting function. */
  source: string;
  /** The entity id. */
  subject: string;
  data: EventData<T>;
}

/**
 * Writes an event to the outbox inside the caller's transaction, so the event
 * exists if and only if the state change commits. Returns the CloudEvent id.
 *
 * @example
 * await db.transaction(async (tx) => {
 *   const [user] = await tx.insert(users).values(row).returning();
 *   await enqueueEvent(tx, { type: "user.registered", source: "auth", subject: user.id, data });
 * });
 */
export async function enqueueEvent<T extends EventType>(
  tx: Db,
  event: NewEvent<T>,
): Promise<string> {
  const data = v.parse(eventCatalogue[event.type], event.data);
  const [row] = await tx
    .insert(outboxEvents)
    .values({
      type: fullType(event.type),
      source: event.source,
      subject: event.subject,
      data,
      // The trace of the request (or event, or sweep) that caused it, for every consumer.
      traceparent: currentTraceparent() ?? null,
    })
    .returning({ id: outboxEvents.id });
  return row!.id;
}

/**
 * `enqueueEvent` for many events in one INSERT, for set-based sweeps that
 * change a batch of rows in one statement. Returns the CloudEvent ids in order.
 */
export async function enqueueEvents<T extends EventType>(
  tx: Db,
  events: NewEvent<T>[],
): Promise<string[]> {
  if (events.length === 0) return [];
  const traceparent = currentTraceparent() ?? null;
  const rows = events.map((event) => ({
    traceparent,
    type: fullType(event.type),
    source: event.source,
    subject: event.subject,
    data: v.parse(eventCatalogue[event.type], event.data),
  }));
  const inserted = await tx.insert(outboxEvents).values(rows).returning({ id: outboxEvents.id });
  return inserted.map((row) => row.id);
}

export interface RelayOptions {
  db: Db;
  publisher: EventPublisher;
  logger: Logger;
  /** The sending function's metrics: counts `minispod_events_published_total`. */
  metrics?: Metrics | undefined;
  /** Most rows sent in one call. */
  batchSize?: number;
  /** Sends in flight at once (default 16), one subject's events one after another. */
  concurrency?: number;
  /** Only these ids (right after a commit); otherwise every due row. */
  ids?: string[];
  now?: () => Date;
}

export interface RelayResult {
  published: number;
  failed: number;
}

/** How long a claimed row stays invisible to other relays while it is being sent. */
const LEASE_SECONDS = 30;

function backoffSeconds(attempts: number): number {
  return Math.min(3600, 2 ** Math.min(attempts, 12));
}

/**
 * Sends unpublished outbox rows to the broker, oldest first, up to
 * `concurrency` at once (one subject's rows in order). Rows are leased
 * (claimed with SKIP LOCKED and pushed into the future) so concurrent relays
 * never send the same row at the same time; a failed send backs off.
 */
export async function relayOutbox(options: RelayOptions): Promise<RelayResult> {
  const { db, publisher, logger } = options;
  const now = options.now?.() ?? new Date();
  const batch = options.batchSize ?? 100;
  const counters = options.metrics ? eventMetrics(options.metrics) : undefined;
  const due = and(
    isNull(outboxEvents.publishedAt),
    lte(outboxEvents.nextAttemptAt, now),
    options.ids ? inArray(outboxEvents.id, options.ids) : undefined,
  );
  const claimed = await db.transaction(async (tx) => {
    const rows = await tx
      .select()
      .from(outboxEvents)
      .where(due)
      .orderBy(asc(outboxEvents.createdAt))
      .limit(batch)
      .for("update", { skipLocked: true });
    if (rows.length === 0) return rows;
    await tx
      .update(outboxEvents)
      .set({
        attempts: sql`${outboxEvents.attempts} + 1`,
        nextAttemptAt: new Date(now.getTime() + LEASE_SECONDS * 1000),
      })
      .where(
        inArray(
          outboxEvents.id,
          rows.map((r) => r.id),
        ),
      );
    return rows;
  });

  // One lane per subject, so one aggregate's events leave in the order they
  // were written (the broker does not promise order; consumers don't rely on it).
  const lanes = new Map<string, typeof claimed>();
  for (const row of claimed) {
    const key = row.subject ?? row.id;
    const lane = lanes.get(key);
    if (lane) lane.push(row);
    else lanes.set(key, [row]);
  }
  const sent: string[] = [];
  const failures: { row: (typeof claimed)[number]; detail: string }[] = [];
  await mapLimit([...lanes.values()], options.concurrency ?? 16, async (rows) => {
    for (const row of rows) {
      try {
        await publisher.publish(cloudEventOf(row));
        sent.push(row.id);
        counters?.published.inc({ type: eventTypeLabel(row.type) });
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        failures.push({ row, detail });
        logger.warn(
          { eventId: row.id, type: row.type, attempts: row.attempts + 1, err: detail },
          "event publish failed",
        );
      }
    }
  });
  // One statement marks the batch. A crash before it re-sends the batch after
  // the lease, as a crash after any single send always could: at least once.
  if (sent.length > 0) {
    await db
      .update(outboxEvents)
      .set({ publishedAt: new Date(), lastError: null })
      .where(inArray(outboxEvents.id, sent));
  }
  for (const { row, detail } of failures) {
    await db
      .update(outboxEvents)
      .set({
        lastError: detail.slice(0, 500),
        nextAttemptAt: new Date(Date.now() + backoffSeconds(row.attempts + 1) * 1000),
      })
      .where(eq(outboxEvents.id, row.id));
  }
  return { published: sent.length, failed: failures.length };
}

function cloudEventOf(row: typeof outboxEvents.$inferSelect): CloudEventMessage {
  return {
    id: row.id,
    type: row.type,
    source: row.source,
    subject: row.subject ?? undefined,
    time: row.time.toISOString(),
    data: row.data,
    ...(row.traceparent ? { extensions: { traceparent: row.traceparent } } : {}),
  };
}
