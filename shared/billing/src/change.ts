import { type Db, subscriptions } from "@minispod/db";
import { enqueueEvent, recordAudit } from "@minispod/shared";
import { eq } from "drizzle-orm";
import type { lockReachableSubscription } from "./access";
import type { Actor, BillingContext } from "./context";
import { subscriptionEventData } from "./events";

type Locked = Awaited<ReturnType<typeof lockReachableSubscription>>;

/** The customer-driven changes that are one row update, one audit entry and one event of the same name. */
export type SubscriptionChange =
  | "subscription.auto_renew_changed"
  | "subscription.payment_method_updated";

/**
 * Applies `set` to a subscription locked by the caller's transaction, audits
 * it and enqueues the event, both named `change`; answers the event id.
 *
 * @example
 * await changeSubscription(tx, ctx, locked, {
 *   change: "subscription.auto_renew_changed", set: { autoRenew: false }, actor, metadata: { autoRenew: false },
 * });
 */
export async function changeSubscription(
  tx: Db,
  ctx: Pick<BillingContext, "source">,
  { subscription, service }: Locked,
  input: {
    change: SubscriptionChange;
    set: Partial<typeof subscriptions.$inferInsert>;
    actor: Actor;
    metadata: Record<string, unknown>;
    /** Extra members of the event's data. */
    eventExtra?: Record<string, unknown>;
  },
): Promise<string> {
  const [updated] = await tx
    .update(subscriptions)
    .set(input.set)
    .where(eq(subscriptions.id, subscription.id))
    .returning();
  await recordAudit(tx, {
    actor: input.actor,
    action: input.change,
    resourceType: "subscription",
    resourceId: subscription.id,
    ownerId: subscription.userId,
    metadata: input.metadata,
  });
  return enqueueEvent(tx, {
    type: input.change,
    source: ctx.source,
    subject: subscription.id,
    data: subscriptionEventData(updated!, service, input.eventExtra),
  });
}
