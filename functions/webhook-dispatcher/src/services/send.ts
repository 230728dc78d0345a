import type { Db } from "@minispod/db";
import { attemptDelivery, type DeliveryConfig } from "@minispod/webhooks";

export interface SendSummary {
  succeeded: number;
  failed: number;
  /** Outbox ids written while recording (endpoints disabled); send them after. */
  eventIds: string[];
}

/**
 * Attempts each delivery, `concurrency` at a time. One failing delivery never
 * stops the others; an attempt that could not even be recorded stays leased
 * and the sweep retries it when the lease runs out.
 */
export async function sendDeliveries(
  db: Db,
  ids: readonly string[],
  options: {
    now: () => Date;
    config: DeliveryConfig;
    concurrency: number;
  },
): Promise<SendSummary> {
  const summary: SendSummary = { succeeded: 0, failed: 0, eventIds: [] };
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        const outcome = await attemptDelivery(db, id, {
          mode: "scheduled",
          now: options.now(),
          config: options.config,
        });
        if (!outcome) continue;
        if (outcome.delivery.status === "SUCCEEDED") summary.succeeded++;
        else summary.failed++;
        summary.eventIds.push(...outcome.eventIds);
      } catch (error) {
        summary.failed++;
        options.config.logger.error(
          { err: error, deliveryId: id },
          "webhook attempt could not be recorded",
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, ids.length) }, worker));
  return summary;
}
