import { type Db, webhookDeliveries, webhookEndpoints } from "@minispod/db";
import { DISABLED_NOT_SENT } from "@minispod/webhooks";
import { and, asc, eq, inArray, lte } from "drizzle-orm";

export interface Claimed {
  /** Due deliveries now leased to this sweep: send them. */
  send: string[];
  /** Due deliveries of disabled endpoints, closed as FAILED without sending. */
  closed: number;
}

/**
 * Claims up to `batch` due PENDING deliveries. Rows are locked with SKIP
 * LOCKED and their next attempt pushed `leaseSeconds` ahead in the same
 * transaction, so an overlapping sweep neither waits nor sends them twice; if
 * this sweep dies, the lease runs out and the next one picks them up.
 */
export async function claimDueDeliveries(
  db: Db,
  input: { now: Date; batch: number; leaseSeconds: number },
): Promise<Claimed> {
  const { now } = input;
  return db.transaction(async (tx) => {
    const due = await tx
      .select({ id: webhookDeliveries.id, enabled: webhookEndpoints.enabled })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .where(
        and(eq(webhookDeliveries.status, "PENDING"), lte(webhookDeliveries.nextAttemptAt, now)),
      )
      .orderBy(asc(webhookDeliveries.nextAttemptAt))
      .limit(input.batch)
      .for("update", { of: webhookDeliveries, skipLocked: true });
    const send = due.filter((d) => d.enabled).map((d) => d.id);
    const closed = due.filter((d) => !d.enabled).map((d) => d.id);
    if (send.length > 0) {
      await tx
        .update(webhookDeliveries)
        .set({ nextAttemptAt: new Date(now.getTime() + input.leaseSeconds * 1000) })
        .where(inArray(webhookDeliveries.id, send));
    }
    if (closed.length > 0) {
      // A disabled endpoint gets nothing; re-enabling it must not unleash a stale backlog.
      await tx
        .update(webhookDeliveries)
        .set({
          status: "FAILED",
          nextAttemptAt: null,
          lastError: DISABLED_NOT_SENT,
        })
        .where(inArray(webhookDeliveries.id, closed));
    }
    return { send, closed: closed.length };
  });
}
