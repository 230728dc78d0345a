import { AppError } from "@minispod/shared";
import { lockReachableSubscription } from "./access";
import { changeSubscription } from "./change";
import type { Actor, BillingContext } from "./context";
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
    return [
      await changeSubscription(
        tx,
        ctx,
        { subscription, service },
        {
          change: "subscription.auto_renew_changed",
          // Turning auto-renew back on takes back a cancellation at period end too.
          set: input.autoRenew
            ? { autoRenew: true, cancelAtPeriodEnd: false }
            : { autoRenew: false },
          actor: input.actor,
          metadata: { autoRenew: input.autoRenew },
        },
      ),
    ];
  });
  if (eventIds.length > 0) ctx.events.kick(eventIds);
  return (await loadSubscriptionDetail(ctx.db, input.subscriptionId))!;
}
