import type { EventSender } from "@minispod/shared";

/**
 * Sends the outbox rows a sweep wrote and waits, in chunks (one relay call
 * sends at most a batch). Whatever fails stays in the outbox for outbox-relay.
 */
export async function publishWritten(
  events: EventSender,
  ids: string[],
  chunk = 100,
): Promise<{ published: number; failed: number }> {
  const total = { published: 0, failed: 0 };
  for (let i = 0; i < ids.length; i += chunk) {
    const sent = await events.flush(ids.slice(i, i + chunk));
    total.published += sent.published;
    total.failed += sent.failed;
  }
  return total;
}
