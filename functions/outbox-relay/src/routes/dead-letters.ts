import { deadEvents } from "@minispod/db";
import { type AppEnv, eventMetrics, eventTypeLabel, readCloudEvent } from "@minispod/shared";
import { Hono } from "hono";
import type { OutboxRelayDeps } from "../deps";

/** A CloudEvent `time` as a date; absent or unreadable ones are not kept. */
function timeOf(time: string | undefined): Date | null {
  const date = time ? new Date(time) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : null;
}

/**
 * The Triggers' dead-letter sink: keeps every event the broker gave up on,
 * with Knative's error extensions, so admins can list and replay it.
 */
export function deadLetterRoutes(deps: OutboxRelayDeps) {
  const { deadLettered } = eventMetrics(deps.metrics);
  return new Hono<AppEnv>().post("/", async (c) => {
    const event = await readCloudEvent(c.req.raw);
    const [row] = await deps.db
      .insert(deadEvents)
      .values({
        eventId: event.id,
        source: event.source,
        type: event.type,
        subject: event.subject,
        data: event.data as object,
        extensions: event.extensions ?? {},
        eventTime: timeOf(event.time),
      })
      .returning({ id: deadEvents.id });
    deadLettered.inc({ type: eventTypeLabel(event.type) });
    c.get("logger").error(
      { eventId: event.id, eventType: event.type, destination: event.extensions?.knativeerrordest },
      "event dead-lettered",
    );
    return c.json({ id: row!.id }, 201);
  });
}
