import {
  type Db,
  instanceStatusEvents,
  invoices,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { AppError, enqueueEvent, recordAudit } from "@minispod/shared";
import { and, eq, gte, ne } from "drizzle-orm";
import { lockReachableSubscription } from "./access";
import { unsettledConflict } from "./charge";
import type { Actor, BillingContext } from "./context";
import { subscriptionEventData } from "./events";
import { addDays } from "./period";
import { hasPendingPayment } from "./records";
import { loadSubscriptionDetail, type SubscriptionDetail } from "./views";

const CANCELLABLE_NOW = new Set(["ACTIVE", "PAST_DUE", "EXPIRED"]);

/** What a cancel did, in words the customer reads in the answer (and the email says too). */
export interface Cancellation {
  /** "period_end": runs until the paid period ends; "immediately": deleted now, with its data. */
  mode: "period_end" | "immediately";
  /** When the app stops: the period's end, or now. */
  effectiveAt: string;
  /** Until when the data can still be brought back by renewing; null: it is being deleted. */
  dataKeptUntil: string | null;
  message: string;
}

export type CancelResult = SubscriptionDetail & { cancellation: Cancellation };

export interface CancelInput {
  subscriptionId: string;
  actor: Actor;
  reason?: string | undefined;
  /** Delete the instance and its data now instead of at the period's end. */
  immediately?: boolean | undefined;
}

/** 409 naming the subscription's status; `detail` defaults to "cannot be cancelled". */
const refused = (subscription: { status: string }, detail?: string) =>
  new AppError("CONFLICT", {
    detail: detail ?? `A ${subscription.status} subscription cannot be cancelled.`,
    extra: { subscriptionStatus: subscription.status },
  });

/**
 * Cancels a subscription. By default at the period's end: auto-renew off and
 * `cancelAtPeriodEnd`, the app keeps running until the paid period ends, then
 * the expiry sweep expires it (instance suspended, data kept for the
 * retention window, then purged), like any period that ends without renewal;
 * `undoCancel` before then restores auto-renew. A PAST_DUE subscription's
 * paid period is already over, so it expires on the next sweep.
 *
 * `immediately` is the explicit destructive one: CANCELLED, the instance
 * DELETING with its data (the provisioner removes it on
 * `subscription.cancelled`), unpaid invoices of later periods VOID, no
 * refund for the running period. Cancelling twice is a 409.
 */
export async function cancel({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: CancelInput;
}): Promise<CancelResult> {
  const outcome = await ctx.db.transaction(async (tx) => {
    // Lock order (README "Row locks"): the subscription first, then its later invoices
    // (the UPDATE to VOID), then the instance. Settling takes subscription, invoice, payment.
    const locked = await lockReachableSubscription(tx, input.subscriptionId, input.actor);
    const { subscription } = locked;
    if (await hasPendingPayment(tx, subscription.id)) {
      throw unsettledConflict(
        "A payment for this subscription is being confirmed; cancel once it is settled.",
      );
    }
    return input.immediately
      ? cancelNow(tx, ctx, locked, input)
      : cancelAtPeriodEnd(tx, ctx, locked, input);
  });
  ctx.events.kick(outcome.eventIds);
  const detail = (await loadSubscriptionDetail(ctx.db, input.subscriptionId))!;
  return { ...detail, cancellation: outcome.cancellation };
}

type Locked = Awaited<ReturnType<typeof lockReachableSubscription>>;
interface Outcome {
  eventIds: string[];
  cancellation: Cancellation;
}

async function cancelAtPeriodEnd(
  tx: Db,
  ctx: BillingContext,
  { subscription, service }: Locked,
  input: CancelInput,
): Promise<Outcome> {
  if (subscription.cancelAtPeriodEnd) {
    throw refused(
      subscription,
      `The subscription already ends on ${subscription.currentPeriodEnd.toISOString()}.`,
    );
  }
  if (subscription.status !== "ACTIVE" && subscription.status !== "PAST_DUE") {
    throw refused(
      subscription,
      subscription.status === "EXPIRED"
        ? 'The subscription has already ended; its data is deleted when the retention window closes. Send {"immediately": true} to delete it now.'
        : undefined,
    );
  }
  const now = ctx.now();
  const [updated] = await tx
    .update(subscriptions)
    .set({
      autoRenew: false,
      cancelAtPeriodEnd: true,
      cancelReason: input.reason ?? defaultReason(input.actor),
    })
    .where(eq(subscriptions.id, subscription.id))
    .returning();
  // PAST_DUE: the paid period is over; the expiry sweep ends it on its next run.
  const effectiveAt = new Date(Math.max(subscription.currentPeriodEnd.getTime(), now.getTime()));
  const dataKeptUntil = addDays(effectiveAt, ctx.settings.retentionDays);
  await recordAudit(tx, {
    actor: input.actor,
    action: "subscription.cancel_scheduled",
    resourceType: "subscription",
    resourceId: subscription.id,
    ownerId: subscription.userId,
    metadata: { effectiveAt: effectiveAt.toISOString(), reason: updated!.cancelReason },
  });
  const eventId = await enqueueEvent(tx, {
    type: "subscription.cancel_scheduled",
    source: ctx.source,
    subject: subscription.id,
    data: {
      ...subscriptionEventData(updated!, service),
      effectiveAt: effectiveAt.toISOString(),
      dataKeptUntil: dataKeptUntil.toISOString(),
    },
  });
  return {
    eventIds: [eventId],
    cancellation: {
      mode: "period_end",
      effectiveAt: effectiveAt.toISOString(),
      dataKeptUntil: dataKeptUntil.toISOString(),
      message: `Your app keeps running until ${effectiveAt.toISOString()}; then it is suspended and its data kept until ${dataKeptUntil.toISOString()} (renew before then to get it back). Undo the cancellation any time before the end.`,
    },
  };
}

async function cancelNow(
  tx: Db,
  ctx: BillingContext,
  { subscription, service }: Locked,
  input: CancelInput,
): Promise<Outcome> {
  if (!CANCELLABLE_NOW.has(subscription.status)) {
    throw refused(
      subscription,
      subscription.status === "CANCELLED" ? "The subscription is already cancelled." : undefined,
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
      cancelAtPeriodEnd: false,
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
    metadata: {
      previousStatus: subscription.status,
      reason: cancelled!.cancelReason,
      immediately: true,
    },
  });
  const eventId = await enqueueEvent(tx, {
    type: "subscription.cancelled",
    source: ctx.source,
    subject: subscription.id,
    data: subscriptionEventData(cancelled!, service, {
      previousStatus: subscription.status,
      ...(instance ? { instanceId: instance.id } : {}),
    }),
  });
  return {
    eventIds: [eventId],
    cancellation: {
      mode: "immediately",
      effectiveAt: now.toISOString(),
      dataKeptUntil: null,
      message:
        "Cancelled now: the instance and all its data are being deleted and cannot be recovered. No refund is made for the rest of the period.",
    },
  };
}

/**
 * Takes back a cancellation at period end before the period ends: auto-renew
 * on again, as before the cancel. 409 when none is scheduled or the period
 * already ended (then renew instead).
 */
export async function undoCancel({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: { subscriptionId: string; actor: Actor };
}): Promise<SubscriptionDetail> {
  const eventIds = await ctx.db.transaction(async (tx) => {
    const { subscription, service } = await lockReachableSubscription(
      tx,
      input.subscriptionId,
      input.actor,
    );
    if (!subscription.cancelAtPeriodEnd || subscription.status !== "ACTIVE") {
      throw refused(
        subscription,
        subscription.cancelAtPeriodEnd
          ? "The period has already ended; renew the subscription instead."
          : "No cancellation is scheduled for this subscription.",
      );
    }
    const [updated] = await tx
      .update(subscriptions)
      .set({ autoRenew: true, cancelAtPeriodEnd: false, cancelReason: null })
      .where(eq(subscriptions.id, subscription.id))
      .returning();
    await recordAudit(tx, {
      actor: input.actor,
      action: "subscription.cancel_undone",
      resourceType: "subscription",
      resourceId: subscription.id,
      ownerId: subscription.userId,
    });
    return [
      await enqueueEvent(tx, {
        type: "subscription.cancel_undone",
        source: ctx.source,
        subject: subscription.id,
        data: subscriptionEventData(updated!, service),
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
