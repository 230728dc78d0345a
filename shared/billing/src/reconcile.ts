import { payments } from "@minispod/db";
import { systemActor } from "@minispod/shared";
import type { ChargeResult, PaymentProvider } from "@minispod/shared/payments";
import { and, asc, eq, lt } from "drizzle-orm";
import type { BillingContext } from "./context";
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
}

const NEVER_RECEIVED: ChargeResult = {
  status: "declined",
  code: "charge_not_found",
  message: "The payment provider has no record of this charge.",
};

/**
 * Settles payments left PENDING by an unknown outcome or a crash after the
 * charge: asks the provider by idempotency key and applies what it says,
 * exactly once (`settleCharge` only changes a PENDING payment). A charge the
 * provider never saw is failed, which frees the customer to try again.
 *
 * `olderThan` must leave in-flight requests alone: use a cutoff well past
 * PAYMENT_TIMEOUT (e.g. now minus 10 minutes). Safe to run concurrently.
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
    .select({ id: payments.id, idempotencyKey: payments.idempotencyKey })
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
  const result: ReconcileResult = { checked: 0, succeeded: 0, failed: 0, unresolved: 0 };
  for (const payment of pending) {
    result.checked++;
    let found: ChargeResult | null;
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
    let settled: Awaited<ReturnType<typeof settleCharge>>;
    try {
      settled = await settleCharge({
        ctx: settleCtx,
        input: { paymentId: payment.id, result: found ?? NEVER_RECEIVED, actor: systemActor },
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
