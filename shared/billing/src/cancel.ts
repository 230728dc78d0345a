import { instanceStatusEvents, invoices, serviceInstances, subscriptions } from "@minispod/db";
import { AppError, enqueueEvent, recordAudit } from "@minispod/shared";
import { and, eq, gte, ne } from "drizzle-orm";
import { lockReachableSubscription } from "./access";
import { unsettledConflict } from "./charge";
import type { Actor, BillingContext } from "./context";
import { subscriptionEventData } from "./events";
import { hasPendingPayment } from "./records";
import { loadSubscriptionDetail, type SubscriptionDetail } from "./views";

const CANCELLABLE = new Set(["ACTIVE", "PAST_DUE", "EXPIRED"]);

/**
 * Cancels at once: CANCELLED, the instance DELETING (the provisioner removes
 * it on `subscription.cancelled`), unpaid invoices of later periods VOID. No
 * refund for the running period. Cancelling twice is a 409.
 */
export async function cancel({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: { subscriptionId: string; actor: Actor; reason?: string | undefined };
}): Promise<SubscriptionDetail> {
  const eventIds = await ctx.db.transaction(async (tx) => {
    // Lock order (README "Row locks"): the subscription first, then its later invoices
    // (the UPDATE to VOID), then the instance. Settling takes subscription, invoice, payment.
    const { subscription, service } = await lockReachableSubscription(
      tx,
      input.subscriptionId,
      input.actor,
    );
    if (!CANCELLABLE.has(subscription.status)) {
      throw new AppError("CONFLICT", {
        detail:
          subscription.status === "CANCELLED"
            ? "The subscription is already cancelled."
            : `A ${subscription.status} subscription cannot be cancelled.`,
        extra: { subscriptionStatus: subscription.status },
      });
    }
    if (await hasPendingPayment(tx, subscription.id)) {
      throw unsettledConflict(
        "A payment for this subscription is being confirmed; cancel once it is settled.",
      );
    }
    const now = ctx.now();
    const [cancelled] = await tx
      .update(subscriptions)
      .set({
        status: "CANCELLED",
        cancelledAt: now,
        cancelReason: input.reason ?? defaultReason(input.actor),
        autoRenew: false,
        nextRenewalAttemptAt: null,
        graceEndsAt: null,
      })
      .where(eq(subscriptions.id, subscription.id))
      .returning();
    await tx
      .update(invoices)
      .set({ status: "VOID" })
      .where(
        and(
          eq(invoices.subscriptionId, subscription.id),
          eq(invoices.status, "OPEN"),
          gte(invoices.periodStart, subscription.currentPeriodEnd),
        ),
      );
    const [instance] = await tx
      .update(serviceInstances)
      .set({ status: "DELETING" })
      .where(
        and(
          eq(serviceInstances.subscriptionId, subscription.id),
          ne(serviceInstances.status, "DELETED"),
        ),
      )
      .returning();
    if (instance) {
      await tx.insert(instanceStatusEvents).values({
        instanceId: instance.id,
        status: "DELETING",
        message: "Subscription cancelled.",
      });
    }
    await recordAudit(tx, {
      actor: input.actor,
      action: "subscription.cancelled",
      resourceType: "subscription",
      resourceId: subscription.id,
      ownerId: subscription.userId,
      metadata: { previousStatus: subscription.status, reason: cancelled!.cancelReason },
    });
    return [
      await enqueueEvent(tx, {
        type: "subscription.cancelled",
        source: ctx.source,
        subject: subscription.id,
        data: subscriptionEventData(cancelled!, service, {
          previousStatus: subscription.status,
          ...(instance ? { instanceId: instance.id } : {}),
        }),
      }),
    ];
  });
  ctx.events.kick(eventIds);
  return (await loadSubscriptionDetail(ctx.db, input.subscriptionId))!;
}

function defaultReason(actor: Actor): string {
  if (actor.role === "SYSTEM") return "system";
  return actor.role === "CUSTOMER" ? "customer" : "admin";
}
