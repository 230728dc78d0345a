import { type Db, invoices, serviceCatalog, subscriptions } from "@minispod/db";
import { AppError, recordAudit } from "@minispod/shared";
import { and, eq, inArray, ne } from "drizzle-orm";
import { lockReachableSubscription } from "./access";
import { unsettledConflict } from "./charge";
import {
  chargeAndSettle,
  chargeInProgress,
  isPaymentKeyTaken,
  paymentWithKey,
  resumeCharge,
} from "./charge-and-settle";
import type { Actor, BillingContext } from "./context";
import { addDays, addMonths } from "./period";
import {
  describePeriod,
  hasPendingPayment,
  insertInvoice,
  insertPendingPayment,
  lastPaymentMethods,
} from "./records";
import { loadSubscriptionDetail, type SubscriptionDetail } from "./views";

type Subscription = typeof subscriptions.$inferSelect;

export interface RenewInput {
  subscriptionId: string;
  actor: Actor;
  /** Defaults to the method of the subscription's last successful payment. */
  paymentMethod?: string | undefined;
  /**
   * The provider key for the charge, derived from the request's Idempotency-Key
   * claim: a retry that takes over a dead request's claim finishes that
   * request's payment instead of buying another period.
   */
  chargeKey?: string | undefined;
  /** True when the request that used `chargeKey` before has ended (it released the key). */
  chargeKeyReleased?: boolean | undefined;
}

/**
 * Charges the next period now. ACTIVE or PAST_DUE: the period
 * [currentPeriodEnd, +1 month), on the invoice of that period (reused when a
 * failed attempt left it OPEN, so the one-invoice-per-period rule holds).
 * EXPIRED inside the retention window: a new period starting now. Success
 * emits `subscription.renewed`; a decline answers 402 and changes nothing else
 * on the subscription (the billing sweep owns dunning).
 *
 * The billing sweep calls this at period end with `systemActor`.
 */
export async function renew({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: RenewInput;
}): Promise<SubscriptionDetail> {
  if (input.chargeKey) {
    const earlier = await paymentWithKey(ctx.db, input.chargeKey);
    if (earlier && earlier.invoice.subscriptionId === input.subscriptionId) {
      await resumeCharge(ctx, earlier, input.actor, { earlierEnded: input.chargeKeyReleased });
      return (await loadSubscriptionDetail(ctx.db, input.subscriptionId))!;
    }
  }
  const pending = await ctx.db
    .transaction(async (tx) => {
      // Lock order (README "Row locks"): subscription here, then the period's invoice
      // (invoiceForPeriod), then the new payment row (insert). Settling takes the same order.
      const { subscription } = await lockReachableSubscription(
        tx,
        input.subscriptionId,
        input.actor,
      );
      const now = ctx.now();
      const period = nextPeriod(subscription, now, ctx.settings.retentionDays);
      if (subscription.status === "EXPIRED" && subscription.exclusive) {
        await refuseIfAnotherLive(tx, subscription);
      }
      if (await hasPendingPayment(tx, subscription.id)) {
        throw unsettledConflict(
          "A payment for this subscription is being confirmed; try again once it is settled.",
          { subscriptionId: subscription.id, paymentStatus: "PENDING" },
        );
      }
      const [service] = await tx
        .select()
        .from(serviceCatalog)
        .where(eq(serviceCatalog.id, subscription.serviceId));
      const description = describePeriod(service!.name, period.start, period.end);
      const invoice = await invoiceForPeriod(tx, subscription, period, {
        amountMinor: service!.priceMinor,
        currency: service!.currency,
        description,
        now,
      });
      const payment = await insertPendingPayment(tx, invoice, {
        provider: ctx.provider.name,
        paymentMethod:
          input.paymentMethod ??
          (await lastPaymentMethods(tx, [subscription.id])).get(subscription.id) ??
          null,
        idempotencyKey: input.chargeKey,
      });
      // A person's request (customer or admin) is theirs to see in the audit trail whatever
      // the charge's outcome; the sweep's own renewals are recorded by their outcome only.
      if (input.actor.role !== "SYSTEM") {
        await recordAudit(tx, {
          actor: input.actor,
          action: "subscription.renewal_requested",
          resourceType: "subscription",
          resourceId: subscription.id,
          ownerId: subscription.userId,
          metadata: { invoiceId: invoice.id, paymentId: payment.id, periodStart: period.start },
        });
      }
      return { invoice, payment, description };
    })
    .catch((error: unknown) => {
      // The request whose claim we took over was alive after all and got here first.
      if (isPaymentKeyTaken(error)) throw chargeInProgress();
      throw error;
    });

  const ids = {
    subscriptionId: input.subscriptionId,
    invoiceId: pending.invoice.id,
    paymentId: pending.payment.id,
  };
  await chargeAndSettle(ctx, pending.payment, pending.description, input.actor, ids);
  return (await loadSubscriptionDetail(ctx.db, input.subscriptionId))!;
}

function nextPeriod(subscription: Subscription, now: Date, retentionDays: number) {
  if (subscription.status === "ACTIVE" || subscription.status === "PAST_DUE") {
    const start = subscription.currentPeriodEnd;
    return { start, end: addMonths(start, 1) };
  }
  if (subscription.status === "EXPIRED") {
    const retainedUntil = addDays(
      subscription.expiredAt ?? subscription.currentPeriodEnd,
      retentionDays,
    );
    if (subscription.purgedAt || now >= retainedUntil) {
      throw new AppError("CONFLICT", {
        detail: `The retention window ended on ${retainedUntil.toISOString()}; subscribe again instead.`,
        extra: {
          subscriptionStatus: subscription.status,
          retainedUntil: retainedUntil.toISOString(),
        },
      });
    }
    return { start: now, end: addMonths(now, 1) };
  }
  throw new AppError("CONFLICT", {
    detail: `A ${subscription.status} subscription cannot be renewed.`,
    extra: { subscriptionStatus: subscription.status },
  });
}

async function refuseIfAnotherLive(tx: Db, subscription: Subscription) {
  const [other] = await tx
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.userId, subscription.userId),
        eq(subscriptions.serviceId, subscription.serviceId),
        eq(subscriptions.exclusive, true),
        ne(subscriptions.id, subscription.id),
        inArray(subscriptions.status, ["PENDING", "ACTIVE", "PAST_DUE"]),
      ),
    )
    .limit(1);
  if (other) {
    throw new AppError("CONFLICT", {
      detail: "Another live subscription to this service exists; renew that one instead.",
      extra: { subscriptionId: other.id },
    });
  }
}

/**
 * The period's invoice: reused (reopened) when an earlier attempt left one unpaid.
 * Called with the subscription locked; the invoice is the second lock.
 */
async function invoiceForPeriod(
  tx: Db,
  subscription: Subscription,
  period: { start: Date; end: Date },
  billing: { amountMinor: number; currency: string; description: string; now: Date },
) {
  const [existing] = await tx
    .select()
    .from(invoices)
    .where(
      and(eq(invoices.subscriptionId, subscription.id), eq(invoices.periodStart, period.start)),
    )
    .for("update");
  if (existing?.status === "PAID") {
    throw new AppError("CONFLICT", { detail: "This period is already paid." });
  }
  if (existing) {
    if (existing.status === "OPEN") return existing;
    const [reopened] = await tx
      .update(invoices)
      .set({ status: "OPEN" })
      .where(eq(invoices.id, existing.id))
      .returning();
    return reopened!;
  }
  return insertInvoice(tx, {
    subscriptionId: subscription.id,
    userId: subscription.userId,
    periodStart: period.start,
    periodEnd: period.end,
    ...billing,
  });
}
