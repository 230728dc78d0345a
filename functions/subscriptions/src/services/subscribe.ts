import { serviceCatalog, subscriptions } from "@minispod/db";
import { AppError } from "@minispod/shared";
import { and, eq, inArray } from "drizzle-orm";
import { declinedError, sendCharge, unknownOutcomeError } from "./charge";
import type { Actor, BillingContext } from "./context";
import { isUniqueViolation } from "./db-errors";
import { addMonths } from "./period";
import { describePeriod, insertInvoice, insertPendingPayment } from "./records";
import { settleCharge } from "./settle";
import { loadSubscriptionDetail, type SubscriptionDetail } from "./views";

export interface SubscribeInput {
  /** The customer who subscribes (and pays). */
  userId: string;
  serviceSlug: string;
  /** Provider payment method; the sandbox reads its test methods from it. */
  paymentMethod?: string | undefined;
  autoRenew?: boolean | undefined;
  actor: Actor;
}

/**
 * Subscribes a customer to a catalog service and charges the first period.
 *
 * 1. One transaction writes the subscription (PENDING), its OPEN invoice and a
 *    PENDING payment carrying the idempotency key, and commits.
 * 2. The charge is sent with that key.
 * 3. `settleCharge` applies the answer: ACTIVE + PAID + instance, or FAILED +
 *    VOID (402). An unknown outcome leaves everything PENDING (502/503) for the
 *    reconciliation, which settles it with `findCharge`.
 */
export async function subscribe({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: SubscribeInput;
}): Promise<SubscriptionDetail> {
  const [service] = await ctx.db
    .select()
    .from(serviceCatalog)
    .where(eq(serviceCatalog.slug, input.serviceSlug));
  if (!service) {
    throw new AppError("NOT_FOUND", { detail: `No service with the slug "${input.serviceSlug}".` });
  }
  if (!service.active || service.retiredAt) {
    throw new AppError("UNPROCESSABLE", {
      detail: `The service "${service.slug}" is not open for new subscriptions.`,
    });
  }

  const now = ctx.now();
  const periodEnd = addMonths(now, 1);
  const description = describePeriod(service.name, now, periodEnd);
  const pending = await ctx.db
    .transaction(async (tx) => {
      if (!service.allowMultiple) await refuseSecondLive(tx, input.userId, service.id);
      const [subscription] = await tx
        .insert(subscriptions)
        .values({
          userId: input.userId,
          serviceId: service.id,
          status: "PENDING",
          currentPeriodStart: now,
          currentPeriodEnd: periodEnd,
          autoRenew: input.autoRenew ?? true,
          exclusive: !service.allowMultiple,
        })
        .returning();
      const invoice = await insertInvoice(tx, {
        subscriptionId: subscription!.id,
        userId: input.userId,
        periodStart: now,
        periodEnd,
        amountMinor: service.priceMinor,
        currency: service.currency,
        description,
        now,
      });
      const payment = await insertPendingPayment(tx, invoice, {
        provider: ctx.provider.name,
        paymentMethod: input.paymentMethod ?? null,
      });
      return { subscription: subscription!, invoice, payment };
    })
    .catch((error: unknown) => {
      // Two different requests raced past the check above; the index decided.
      if (isUniqueViolation(error, "subscriptions_one_live_per_service_uq")) throw liveConflict();
      throw error;
    });

  const ids = {
    subscriptionId: pending.subscription.id,
    invoiceId: pending.invoice.id,
    paymentId: pending.payment.id,
  };
  const outcome = await sendCharge(ctx.provider, pending.payment, description, ctx.logger);
  if (outcome.status === "unknown") throw unknownOutcomeError(outcome, ids);

  const settled = await settleCharge({
    ctx,
    input: { paymentId: pending.payment.id, result: outcome, actor: input.actor },
  });
  if (settled.paymentStatus === "FAILED") {
    if (outcome.status === "declined") throw declinedError(outcome, ids);
    // Only possible if the reconciliation gave the payment up while this request waited.
    ctx.logger.error(ids, "provider charged a payment already settled as FAILED; refund it");
    throw new AppError("CONFLICT", {
      detail: "The payment was already recorded as failed; the charge will be refunded.",
      extra: ids,
    });
  }
  return (await loadSubscriptionDetail(ctx.db, pending.subscription.id))!;
}

async function refuseSecondLive(tx: BillingContext["db"], userId: string, serviceId: string) {
  const [live] = await tx
    .select({ id: subscriptions.id, status: subscriptions.status })
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.userId, userId),
        eq(subscriptions.serviceId, serviceId),
        eq(subscriptions.exclusive, true),
        inArray(subscriptions.status, ["PENDING", "ACTIVE", "PAST_DUE"]),
      ),
    )
    .limit(1);
  if (live) throw liveConflict(live);
}

function liveConflict(live?: { id: string; status: string }): AppError {
  const waiting = live?.status === "PENDING";
  return new AppError("CONFLICT", {
    detail: waiting
      ? "A subscription to this service is waiting for its first payment to be confirmed."
      : "You already have a live subscription to this service.",
    ...(live ? { extra: { subscriptionId: live.id, subscriptionStatus: live.status } } : {}),
  });
}
