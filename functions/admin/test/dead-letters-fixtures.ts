import { type Db, deadEvents } from "@minispod/db";
import { type CloudEventMessage, enqueueEvent, newTrace, withTrace } from "@minispod/shared";

/** A user.password_changed event written to the outbox, as auth writes it (with a trace). */
export async function enqueuePasswordChanged(db: Db, userId: string): Promise<string> {
  return withTrace(newTrace(), () =>
    db.transaction((tx) =>
      enqueueEvent(tx, {
        type: "user.password_changed",
        source: "auth",
        subject: userId,
        data: { userId, email: "carol@example.com" },
      }),
    ),
  );
}

/**
 * What outbox-relay's dead-letter sink stores when the broker gives up on
 * `event` for `destination` (the sink itself is another function).
 */
export async function deadLetter(
  db: Db,
  event: Pick<CloudEventMessage, "id" | "type" | "source" | "data"> &
    Partial<Pick<CloudEventMessage, "subject" | "extensions" | "time">>,
  destination = "notifier/events",
  receivedAt?: Date,
): Promise<string> {
  const [row] = await db
    .insert(deadEvents)
    .values({
      eventId: event.id,
      source: event.source,
      type: event.type,
      subject: event.subject ?? null,
      data: event.data as object,
      extensions: {
        ...event.extensions,
        knativeerrordest: destination,
        knativeerrorcode: "503",
        knativeerrordata: Buffer.from("Event handling failed; retry later.").toString("base64"),
      },
      ...(event.time ? { eventTime: new Date(event.time) } : {}),
      ...(receivedAt ? { receivedAt } : {}),
    })
    .returning({ id: deadEvents.id });
  return row!.id;
}
