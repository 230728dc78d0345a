import { type Db, processedEvents } from "@minispod/db";
import { Hono } from "hono";
import * as v from "valibot";
import type { AppEnv } from "../app-env";
import { AppError } from "../errors";
import type { Metrics } from "../metrics";
import { type EventData, type EventType, eventCatalogue, shortType } from "./catalogue";
import { type ConsumeLabel, consumeCounter } from "./metrics";
import { type CloudEventMessage, fromHttp } from "./publisher";

export interface EventContext<T extends EventType> {
  event: CloudEventMessage;
  type: T;
  data: EventData<T>;
  /** The transaction that also records the event as processed. */
  tx: Db;
}

export type EventHandlers = {
  [T in EventType]?: (ctx: EventContext<T>) => Promise<void>;
};

/** Thrown by a handler for an event it can never handle: answered 422, never retried. */
export class PermanentEventError extends Error {
  override name = "PermanentEventError";
}

export type ConsumeOutcome = "processed" | "duplicate" | "ignored";

/**
 * Runs `handler` at most once per (consumer, source, id): the processed-event
 * row is inserted in the same transaction as the handler's effect, so a
 * redelivered event is skipped and a failed handler leaves no trace.
 */
export async function consumeOnce(
  db: Db,
  consumer: string,
  event: CloudEventMessage,
  handler: (tx: Db) => Promise<void>,
): Promise<ConsumeOutcome> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(processedEvents)
      .values({ consumer, source: event.source, eventId: event.id, type: event.type })
      .onConflictDoNothing()
      .returning({ id: processedEvents.eventId });
    if (inserted.length === 0) return "duplicate";
    await handler(tx);
    return "processed";
  });
}

/** Dispatches a parsed event to its handler, deduplicated. */
export async function dispatchEvent(
  db: Db,
  consumer: string,
  handlers: EventHandlers,
  event: CloudEventMessage,
): Promise<ConsumeOutcome> {
  const type = shortType(event.type);
  const handler = type ? handlers[type] : undefined;
  if (!type || !handler) return "ignored";
  const parsed = v.safeParse(eventCatalogue[type], event.data);
  if (!parsed.success) {
    throw new PermanentEventError(`data of ${event.type} does not match its schema`);
  }
  return consumeOnce(db, consumer, event, (tx) =>
    (handler as (ctx: EventContext<EventType>) => Promise<void>)({
      event,
      type,
      data: parsed.output,
      tx,
    }),
  );
}

/** Parses the CloudEvent of an HTTP request; anything malformed is a 400. */
export async function readCloudEvent(request: Request): Promise<CloudEventMessage> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key] = value;
  });
  try {
    return fromHttp(headers, await request.text());
  } catch (error) {
    throw new AppError("BAD_REQUEST", {
      detail: `Not a CloudEvent: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}

/**
 * The `POST /events` endpoint a Knative Trigger delivers to. Answers 200 when
 * done or duplicate, 4xx for events it can never handle, 5xx to get a retry.
 * Every answer counts in `minispod_events_consumed_total{type,consumer,outcome}`.
 *
 * @example
 * app.route("/events", eventRoutes({ db, metrics, consumer: "notifier", handlers: { "user.registered": sendWelcome } }));
 */
export function eventRoutes(options: {
  db: Db;
  /** The consuming function's metrics (`deps.metrics`). */
  metrics: Metrics;
  consumer: string;
  handlers: EventHandlers;
}) {
  const counter = consumeCounter(options.metrics, options.consumer);
  const app = new Hono<AppEnv>();
  app.post("/", async (c) => {
    const event = await readCloudEvent(c.req.raw);
    const log = c
      .get("logger")
      .child({ eventId: event.id, eventType: event.type, source: event.source });
    const count = (outcome: ConsumeLabel) => counter(event.type, outcome);
    try {
      const outcome = await dispatchEvent(options.db, options.consumer, options.handlers, event);
      count(outcome);
      // A Trigger may send more than this consumer handles; that is routing, not a problem.
      if (outcome === "ignored") log.debug("event type not handled here");
      else log.info({ outcome }, "event consumed");
      return c.json({ outcome });
    } catch (error) {
      if (error instanceof PermanentEventError) {
        count("rejected");
        log.error({ err: error }, "event rejected for good");
        throw new AppError("UNPROCESSABLE", { detail: error.message });
      }
      if (error instanceof AppError && error.status < 500) {
        count("rejected");
        log.error({ err: error }, "event rejected for good");
        throw error;
      }
      count("failed");
      log.error({ err: error }, "event failed; asking for a retry");
      throw new AppError("SERVICE_UNAVAILABLE", { detail: "Event handling failed; retry later." });
    }
  });
  return app;
}

/** The CloudEvent `time` of a binary-mode request (`ce-time`), when it is a valid time. */
function eventTime(header: string | undefined): Date | undefined {
  if (!header) return undefined;
  const time = new Date(header);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/**
 * `POST /cron/<job>` endpoints that PingSources call. A job's "now" is the
 * event's `time` when the PingSource sends one (so a delayed or replayed ping
 * sweeps as of its schedule, and local mode's clock reaches the sweeps),
 * else the function's clock. Jobs must be idempotent: a sweep may run twice
 * or overlap with another replica.
 */
export function cronRoutes(
  jobs: Record<string, (now: Date) => Promise<Record<string, unknown>>>,
  options: { now?: () => Date } = {},
) {
  const app = new Hono<AppEnv>();
  app.post("/:job", async (c) => {
    const job = jobs[c.req.param("job")];
    if (!job) throw new AppError("NOT_FOUND", { detail: `No cron job ${c.req.param("job")}.` });
    const started = Date.now();
    const result = await job(eventTime(c.req.header("ce-time")) ?? options.now?.() ?? new Date());
    c.get("logger").info(
      { job: c.req.param("job"), ms: Date.now() - started, ...result },
      "cron job done",
    );
    return c.json({ job: c.req.param("job"), ...result });
  });
  return app;
}
