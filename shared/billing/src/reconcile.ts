import type { ChargeResult, FoundCharge, PaymentProvider } from "@minispod/billing/payments";
import { payments } from "@minispod/db";
import { systemActor } from "@minispod/shared";
import { and, asc, eq, lt } from "drizzle-orm";
import { sendCharge } from "./charge";
import type { BillingContext } from "./context";
import { isScheduledRenewal } from "./dunning";
import { settleCharge } from "./settle";

export interface ReconcileResult {
  /** PENDING payments looked up with the provider. */
  checked: number;
  /** Settled as succeeded (subscriptions activated or renewed). */
  succeeded: number;
  /** Settled as failed: declined, or the provider never saw the charge. */
  failed: number;
  /** Still unknown (the provider could not answer); tried again next run. */
  unresolved: number;
  /** The provider's amount or currency differs from ours: left PENDING for a human. */
  mismatched: number;
  /** Sweep charges the provider never received (a crash before sending): sent now, once. */
  resent: number;
}

const NEVER_RECEIVED: ChargeResult = {
  status: "declined",
  code: "charge_not_found",
  message: "The payment provider has no record of this charge.",
};

/**
 * Settles payments left PENDING by an unknown outcome or a crash after the
 * charge: asks the provider by idempotency key and applies what it says,
 * exactly once (`settleCharge` only changes a PENDING payment), never by
 * charging again. An answer whose amount or currency differs from the
 * payment's settles nothing (logged for a human). A charge the provider
 * never saw is failed, which frees the customer to try again; except the
 * billing sweep's own renewal charges, which a crash stopped before they were
 * sent: those are sent now with their stored key (the provider dedupes on it).
 *
 * Only payments of `provider` (matched by name) created before `olderThan`:
 * choose a cutoff well past PAYMENT_TIMEOUT (e.g. now minus 10 minutes) so
 * in-flight charges are left alone. Safe to run concurrently.
 *
 * @example
 * await reconcilePendingPayments({ ctx, provider, olderThan: new Date(Date.now() - 10 * 60_000) });
 */
export async function reconcilePendingPayments({
  ctx,
  provider,
  olderThan,
  limit = 100,
}: {
  ctx: Omit<BillingContext, "provider">;
  provider: PaymentProvider;
  olderThan: Date;
  limit?: number;
}): Promise<ReconcileResult> {
  const settleCtx: BillingContext = { ...ctx, provider };
  const pending = await ctx.db
    .select()
    .from(payments)
    .where(
      and(
        eq(payments.status, "PENDING"),
        eq(payments.provider, provider.name),
        lt(payments.createdAt, olderThan),
      ),
    )
    .orderBy(asc(payments.createdAt))
    .limit(limit);

  // The select above locks nothing; each settleCharge is its own transaction and locks
  // subscription -> invoice -> payment, the order renew and cancel use too.
  const result: ReconcileResult = {
    checked: 0,
    succeeded: 0,
    failed: 0,
    unresolved: 0,
    mismatched: 0,
    resent: 0,
  };
  for (const payment of pending) {
    result.checked++;
    let found: FoundCharge | null;
    try {
      found = await provider.findCharge(payment.idempotencyKey);
    } catch (error) {
      ctx.logger.warn(
        { err: error, paymentId: payment.id },
        "provider lookup failed; payment stays PENDING",
      );
      result.unresolved++;
      continue;
    }
    if (found && !sameMoney(found, payment)) {
      ctx.logger.error(
        {
          paymentId: payment.id,
          expected: { amountMinor: payment.amountMinor, currency: payment.currency },
          provider: { amountMinor: found.amountMinor, currency: found.currency },
        },
        "provider charged another amount or currency than the payment's; left PENDING for a human",
      );
      result.mismatched++;
      continue;
    }
    let outcome: ChargeResult = found ?? NEVER_RECEIVED;
    if (!found && isScheduledRenewal(payment)) {
      const sent = await sendCharge(provider, payment, "Renewal", ctx.logger);
      if (sent.status === "unknown") {
        result.unresolved++;
        continue;
      }
      result.resent++;
      outcome = sent;
    }
    let settled: Awaited<ReturnType<typeof settleCharge>>;
    try {
      settled = await settleCharge({
        ctx: settleCtx,
        input: { paymentId: payment.id, result: outcome, actor: systemActor },
      });
    } catch (error) {
      // One payment that cannot be settled must not starve the rest of the batch.
      ctx.logger.error(
        { err: error, paymentId: payment.id },
        "settling a reconciled payment failed",
      );
      result.unresolved++;
      continue;
    }
    // Another reconciler, a callback or the request itself got there first.
    if (!settled.applied) continue;
    if (settled.paymentStatus === "SUCCEEDED") result.succeeded++;
    else result.failed++;
  }
  if (result.checked > 0) ctx.logger.info(result, "pending payments reconciled");
  return result;
}

/** True unless the provider names an amount or currency other than the payment's. */
function sameMoney(found: FoundCharge, payment: { amountMinor: number; currency: string }) {
  if (found.amountMinor !== undefined && found.amountMinor !== payment.amountMinor) return false;
  if (found.currency !== undefined && found.currency.toUpperCase() !== payment.currency) {
    return false;
  }
  return true;
}
