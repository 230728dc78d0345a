import { type Db, invoices, payments, serviceCatalog, subscriptions } from "@minispod/db";
import type { ChargeResult } from "@minispod/shared/payments";
import { eq } from "drizzle-orm";
import type { Actor, BillingContext } from "./context";
import { applyDecline, applySuccess, type LockedPayment } from "./settle-apply";

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
 * payment row is locked and only a PENDING one changes, so the request that
 * charged, a provider callback and the reconciliation can all call it.
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
  if (eventIds.length > 0) ctx.events.kick(eventIds);
  return settled;
}

export interface SettleInput {
  paymentId: string;
  result: ChargeResult;
  actor: Actor;
}

/**
 * `settleCharge` inside the caller's transaction, for callers that record
 * something of their own atomically with it (a provider callback marks its
 * event processed). The caller kicks the returned outbox ids after commit.
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

async function lockPayment(tx: Db, paymentId: string): Promise<LockedPayment> {
  const [row] = await tx
    .select({
      payment: payments,
      invoice: invoices,
      subscription: subscriptions,
      service: { id: serviceCatalog.id, slug: serviceCatalog.slug, name: serviceCatalog.name },
    })
    .from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .innerJoin(subscriptions, eq(subscriptions.id, invoices.subscriptionId))
    .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
    .where(eq(payments.id, paymentId))
    // The subscription is locked too, so a cancel cannot interleave with an activation.
    .for("update", { of: [payments, invoices, subscriptions] });
  if (!row) throw new Error(`payment ${paymentId} does not exist`);
  return row;
}
