import { subscriptions } from "@minispod/db";
import { AppError, enqueueEvent, recordAudit } from "@minispod/shared";
import { eq } from "drizzle-orm";
import { lockReachableSubscription } from "./access";
import type { Actor, BillingContext } from "./context";
import { subscriptionEventData } from "./events";
import { loadSubscriptionDetail, type SubscriptionDetail } from "./views";

/**
 * Turns renewal at period end on or off. Only live subscriptions have a next
 * period to renew into; setting the current value changes and emits nothing.
 */
export async function setAutoRenew({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: { subscriptionId: string; autoRenew: boolean; actor: Actor };
}): Promise<SubscriptionDetail> {
  const eventIds = await ctx.db.transaction(async (tx) => {
    // The only row lock: the subscription (first in the global order, README "Row locks").
    const { subscription, service } = await lockReachableSubscription(
      tx,
      input.subscriptionId,
      input.actor,
    );
    if (subscription.status !== "ACTIVE" && subscription.status !== "PAST_DUE") {
      throw new AppError("CONFLICT", {
        detail: `Auto-renew cannot change on a ${subscription.status} subscription.`,
        extra: { subscriptionStatus: subscription.status },
      });
    }
    if (subscription.autoRenew === input.autoRenew) return [];
    const [updated] = await tx
      .update(subscriptions)
      // Turning auto-renew back on takes back a cancellation at period end too.
      .set(input.autoRenew ? { autoRenew: true, cancelAtPeriodEnd: false } : { autoRenew: false })
      .where(eq(subscriptions.id, subscription.id))
      .returning();
    await recordAudit(tx, {
      actor: input.actor,
      action: "subscription.auto_renew_changed",
      resourceType: "subscription",
      resourceId: subscription.id,
      ownerId: subscription.userId,
      metadata: { autoRenew: input.autoRenew },
    });
    return [
      await enqueueEvent(tx, {
        type: "subscription.auto_renew_changed",
        source: ctx.source,
        subject: subscription.id,
        data: subscriptionEventData(updated!, service),
      }),
    ];
  });
  if (eventIds.length > 0) ctx.events.kick(eventIds);
  return (await loadSubscriptionDetail(ctx.db, input.subscriptionId))!;
}
