import type { ChargeResult } from "@minispod/billing/payments";
import { type Db, invoices, payments, serviceCatalog, subscriptions } from "@minispod/db";
import { eq } from "drizzle-orm";
import type { Actor, BillingContext } from "./context";
import type { LockedPayment } from "./locked-payment";
import { paymentMetrics } from "./metrics";
import { applyDecline, applySuccess } from "./settlement-outcomes";

type Payment = typeof payments.$inferSelect;

export interface SettleResult {
  /** False when the payment was already settled (by a webhook, a sweep or a racing request). */
  applied: boolean;
  /** The payment's status after the call. */
  paymentStatus: Payment["status"];
  paymentId: string;
  invoiceId: string;
  subscriptionId: string;
}

/**
 * Applies a charge's known result to a PENDING payment, exactly once: the
 * payment row is locked (after its subscription and invoice, the global lock
 * order) and only a PENDING one changes, so the request that charged, a
 * provider callback and the reconciliation can all call it.
 *
 * - First charge (subscription PENDING): success makes the subscription
 *   ACTIVE for a period starting now, the invoice PAID, and a PENDING
 *   instance; a decline VOIDs the invoice and FAILs the subscription.
 * - Renewal: success PAYs the invoice and moves the period to the invoice's;
 *   a decline leaves the invoice OPEN for dunning (VOID when renewing an
 *   EXPIRED subscription, whose period was anchored at the request).
 *
 * Events are written to the outbox in the same transaction and sent after it.
 */
export async function settleCharge({
  ctx,
  input,
}: {
  ctx: BillingContext;
  input: SettleInput;
}): Promise<SettleResult> {
  const { eventIds, ...settled } = await ctx.db.transaction((tx) =>
    settleChargeInTransaction(tx, ctx, input),
  );
  countSettled(ctx, settled);
  if (eventIds.length > 0) ctx.events.kick(eventIds);
  return settled;
}

/** Counts a settling that changed the payment; call it after the transaction committed. */
export function countSettled(
  ctx: Pick<BillingContext, "metrics">,
  settled: Pick<SettleResult, "applied" | "paymentStatus">,
): void {
  if (!settled.applied) return;
  if (settled.paymentStatus === "SUCCEEDED" || settled.paymentStatus === "FAILED")
    paymentMetrics(ctx.metrics).settled.inc({ status: settled.paymentStatus });
}

export interface SettleInput {
  paymentId: string;
  result: ChargeResult;
  actor: Actor;
}

/**
 * `settleCharge` inside the caller's transaction, for callers that record
 * something of their own atomically with it (a provider callback marks its
 * event processed). After commit, the caller kicks the returned outbox ids and
 * passes the result to `countSettled`.
 */
export async function settleChargeInTransaction(
  tx: Db,
  ctx: BillingContext,
  input: SettleInput,
): Promise<SettleResult & { eventIds: string[] }> {
  const locked = await lockPayment(tx, input.paymentId);
  const ids = {
    paymentId: locked.payment.id,
    invoiceId: locked.invoice.id,
    subscriptionId: locked.subscription.id,
  };
  if (locked.payment.status !== "PENDING") {
    return { applied: false, paymentStatus: locked.payment.status, eventIds: [], ...ids };
  }
  const apply = input.result.status === "succeeded" ? applySuccess : applyDecline;
  const eventIds = await apply(tx, ctx, locked, input.result, input.actor);
  return {
    applied: true,
    paymentStatus: input.result.status === "succeeded" ? "SUCCEEDED" : "FAILED",
    eventIds,
    ...ids,
  };
}

/**
 * Locks what settling the payment touches, in the one order every service takes
 * these rows (see "Row locks" in the README): the subscription first, then the
 * invoice, then the payment. Renew and cancel lock the subscription and then its
 * invoices too, so they queue behind a settling instead of deadlocking with it.
 *
 * An invoice never changes subscription and a payment never changes invoice, so
 * the plain read that finds the subscription cannot go stale before the locks.
 */
async function lockPayment(tx: Db, paymentId: string): Promise<LockedPayment> {
  const [owner] = await tx
    .select({ invoiceId: invoices.id, subscriptionId: invoices.subscriptionId })
    .from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(eq(payments.id, paymentId));
  if (!owner) throw new Error(`payment ${paymentId} does not exist`);
  // 1. The subscription, so a cancel or renew cannot interleave with an activation.
  const [subscription] = await tx
    .select({
      subscription: subscriptions,
      service: { id: serviceCatalog.id, slug: serviceCatalog.slug, name: serviceCatalog.name },
    })
    .from(subscriptions)
    .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
    .where(eq(subscriptions.id, owner.subscriptionId))
    .for("update", { of: subscriptions });
  // 2. The invoice.
  const [invoice] = await tx
    .select()
    .from(invoices)
    .where(eq(invoices.id, owner.invoiceId))
    .for("update");
  // 3. The payment; only now is its status read, after anyone settling it committed.
  const [payment] = await tx
    .select()
    .from(payments)
    .where(eq(payments.id, paymentId))
    .for("update");
  if (!subscription || !invoice || !payment) {
    throw new Error(`payment ${paymentId} does not exist`);
  }
  return { payment, invoice, ...subscription };
}
