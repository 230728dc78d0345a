import { type Db, invoices, isUniqueViolation, payments, subscriptions } from "@minispod/db";
import { AppError } from "@minispod/shared";
import { eq } from "drizzle-orm";
import { declinedError, sendCharge, unknownOutcomeError, unsettledConflict } from "./charge";
import type { Actor, BillingContext } from "./context";
import { settleCharge } from "./settle";

type Payment = typeof payments.$inferSelect;

type ChargeIds = { subscriptionId: string; invoiceId: string; paymentId: string };

/**
 * Sends the charge for a committed PENDING payment and settles the answer.
 * Returns when the payment is SUCCEEDED; throws the problem the client gets
 * otherwise: 402 for a decline, 503/502 for an unknown outcome, 409 when the
 * provider charged a payment that was meanwhile settled as failed.
 */
export async function chargeAndSettle(
  ctx: BillingContext,
  payment: Payment,
  description: string,
  actor: Actor,
  ids: ChargeIds,
): Promise<void> {
  const outcome = await sendCharge(ctx.provider, payment, description, ctx.logger);
  if (outcome.status === "unknown") throw unknownOutcomeError(outcome, ids);
  const settled = await settleCharge({
    ctx,
    input: { paymentId: payment.id, result: outcome, actor },
  });
  if (settled.paymentStatus !== "FAILED") return;
  if (outcome.status === "declined") throw declinedError(outcome, ids);
  // Only possible if the reconciliation gave the payment up while this request waited:
  // the money moved but nothing was bought, so do not answer as if it had been.
  ctx.logger.error(ids, "provider charged a payment already settled as FAILED; refund it");
  throw new AppError("CONFLICT", {
    detail: "The payment was already recorded as failed; the charge will be refunded.",
    extra: ids,
  });
}

/**
 * The payment an earlier attempt under the same Idempotency-Key committed
 * (its provider key derives from the claim), with its invoice; undefined when
 * that attempt never got as far.
 */
export async function paymentWithKey(db: Db, idempotencyKey: string) {
  const [row] = await db
    .select({ payment: payments, invoice: invoices })
    .from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(eq(payments.idempotencyKey, idempotencyKey));
  return row;
}

/**
 * Finishes the charge an earlier attempt under the same Idempotency-Key
 * started, instead of buying again: a PENDING payment is sent once more with
 * its own key (the provider answers the first result, never charging twice)
 * and settled; a settled one answers as it ended. Returns when it succeeded.
 */
export async function resumeCharge(
  ctx: BillingContext,
  earlier: { payment: Payment; invoice: typeof invoices.$inferSelect },
  actor: Actor,
  options: {
    /**
     * The earlier request has ended (it released the key after an unknown outcome):
     * nobody else waits for this charge. Unset for a stale claim taken over, whose
     * request may still be alive.
     */
    earlierEnded?: boolean | undefined;
  } = {},
): Promise<void> {
  const { payment, invoice } = earlier;
  const ids = {
    subscriptionId: invoice.subscriptionId,
    invoiceId: invoice.id,
    paymentId: payment.id,
  };
  ctx.logger.info(ids, "resuming the charge of an earlier attempt under the same Idempotency-Key");
  if (payment.status === "PENDING") {
    try {
      return await chargeAndSettle(ctx, payment, invoice.description, actor, ids);
    } catch (error) {
      if (error instanceof AppError && error.status >= 500) {
        // Still unknown. The key stays bound to this payment either way, so a later
        // retry finishes it rather than buying again.
        if (options.earlierEnded) throw await stillUnsettled(ctx.db, ids);
        // The earlier request may still be waiting for this very charge: the claim stays with it.
        throw chargeInProgress();
      }
      throw error;
    }
  }
  if (payment.status === "FAILED") {
    throw declinedError(
      {
        code: payment.failureCode ?? "declined",
        message: payment.failureMessage ?? "The payment was declined.",
      },
      ids,
    );
  }
}

async function stillUnsettled(db: Db, ids: ChargeIds): Promise<AppError> {
  const [subscription] = await db
    .select({ status: subscriptions.status })
    .from(subscriptions)
    .where(eq(subscriptions.id, ids.subscriptionId));
  return unsettledConflict(
    "The payment of the earlier attempt with this Idempotency-Key is still being confirmed; " +
      "retry once it is settled.",
    { ...ids, subscriptionStatus: subscription?.status, paymentStatus: "PENDING" },
  );
}

/** A racing attempt under the same claim committed this payment key first. */
export function isPaymentKeyTaken(error: unknown): boolean {
  return isUniqueViolation(error, "payments_idempotency_key_uq");
}

export function chargeInProgress(): AppError {
  return new AppError("IDEMPOTENCY_IN_PROGRESS", {
    detail: "A request with this Idempotency-Key is still being processed; retry shortly.",
    retryAfter: 1,
  });
}
