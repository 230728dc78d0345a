import {
  type Db,
  instanceStatusEvents,
  invoices,
  payments,
  serviceCatalog,
  serviceInstances,
  subscriptions,
} from "@minispod/db";
import { enqueueEvent } from "@minispod/shared";
import type { ChargeResult } from "@minispod/shared/payments";
import { eq } from "drizzle-orm";
import { audit } from "./audit";
import type { Actor, BillingContext } from "./context";
import {
  invoicePaidData,
  paymentEventData,
  type ServiceRef,
  subscriptionEventData,
} from "./events";
import { instancePlacement } from "./instance";
import { addMonths } from "./period";

type Subscription = typeof subscriptions.$inferSelect;
type Invoice = typeof invoices.$inferSelect;
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

interface Locked {
  payment: Payment;
  invoice: Invoice;
  subscription: Subscription;
  service: ServiceRef;
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

async function lockPayment(tx: Db, paymentId: string): Promise<Locked> {
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

async function applySuccess(
  tx: Db,
  ctx: BillingContext,
  { payment, invoice, subscription, service }: Locked,
  result: ChargeResult,
  actor: Actor,
): Promise<string[]> {
  const now = ctx.now();
  const providerPaymentId = result.providerPaymentId ?? null;
  const [paid] = await tx
    .update(payments)
    .set({ status: "SUCCEEDED", providerPaymentId, failureCode: null, failureMessage: null })
    .where(eq(payments.id, payment.id))
    .returning();

  if (subscription.status === "CANCELLED" || subscription.status === "FAILED") {
    // Cancel and the first-charge path refuse while a payment is pending, so only a
    // provider confirming what we had already given up lands here: keep the money
    // on record, leave the subscription alone, and flag it for a refund.
    ctx.logger.error(
      { subscriptionId: subscription.id, paymentId: payment.id },
      "charge succeeded for an ended subscription; refund it",
    );
    await tx
      .update(invoices)
      .set({ status: "PAID", paidAt: now })
      .where(eq(invoices.id, invoice.id));
    return [];
  }
  const first = subscription.status === "PENDING";
  // A first period starts when the customer gets the app, even if the charge was
  // confirmed late by reconciliation; a renewal keeps the period it billed.
  const periodStart = first ? now : invoice.periodStart;
  const periodEnd = first ? addMonths(now, 1) : invoice.periodEnd;
  const [paidInvoice] = await tx
    .update(invoices)
    .set({ status: "PAID", paidAt: now, periodStart, periodEnd })
    .where(eq(invoices.id, invoice.id))
    .returning();
  const [active] = await tx
    .update(subscriptions)
    .set({
      status: "ACTIVE",
      currentPeriodStart: periodStart,
      currentPeriodEnd: periodEnd,
      renewalAttempts: 0,
      nextRenewalAttemptAt: null,
      graceEndsAt: null,
      expiredAt: null,
    })
    .where(eq(subscriptions.id, subscription.id))
    .returning();

  const events: string[] = [];
  if (first) {
    const instance = await createInstance(tx, ctx, active!, service.slug);
    events.push(
      await enqueueEvent(tx, {
        type: "subscription.activated",
        source: ctx.source,
        subject: subscription.id,
        data: subscriptionEventData(active!, service, {
          instanceId: instance.id,
          url: instance.url,
        }),
      }),
    );
  } else {
    events.push(
      await enqueueEvent(tx, {
        type: "subscription.renewed",
        source: ctx.source,
        subject: subscription.id,
        // The provisioner resumes a suspended instance when the previous status was EXPIRED.
        data: subscriptionEventData(active!, service, { previousStatus: subscription.status }),
      }),
    );
  }
  events.push(
    await enqueueEvent(tx, {
      type: "invoice.paid",
      source: ctx.source,
      subject: invoice.id,
      data: invoicePaidData(paidInvoice!),
    }),
    await enqueueEvent(tx, {
      type: "payment.succeeded",
      source: ctx.source,
      subject: payment.id,
      data: paymentEventData(paid!, paidInvoice!),
    }),
  );
  await audit(tx, {
    actor,
    action: first ? "subscription.activated" : "subscription.renewed",
    resourceType: "subscription",
    resourceId: subscription.id,
    metadata: { invoiceId: invoice.id, paymentId: payment.id, providerPaymentId },
  });
  return events;
}

async function createInstance(
  tx: Db,
  ctx: BillingContext,
  subscription: Subscription,
  slug: string,
) {
  const placement = instancePlacement(ctx.settings, subscription, slug);
  const [instance] = await tx
    .insert(serviceInstances)
    .values({ subscriptionId: subscription.id, ...placement, status: "PENDING" })
    .returning();
  await tx
    .insert(instanceStatusEvents)
    .values({ instanceId: instance!.id, status: "PENDING", message: "Waiting to be provisioned." });
  return instance!;
}

async function applyDecline(
  tx: Db,
  ctx: BillingContext,
  { payment, invoice, subscription }: Locked,
  result: ChargeResult,
  actor: Actor,
): Promise<string[]> {
  const failure =
    result.status === "declined"
      ? { failureCode: result.code, failureMessage: result.message }
      : { failureCode: "unknown", failureMessage: "The charge failed." };
  const [failed] = await tx
    .update(payments)
    .set({ status: "FAILED", providerPaymentId: result.providerPaymentId ?? null, ...failure })
    .where(eq(payments.id, payment.id))
    .returning();

  const first = subscription.status === "PENDING";
  // Nothing stays billable after a declined first charge or a declined revival of an
  // EXPIRED subscription; an unpaid renewal stays OPEN so dunning can retry it.
  if (first || subscription.status === "EXPIRED") {
    await tx.update(invoices).set({ status: "VOID" }).where(eq(invoices.id, invoice.id));
  }
  if (first) {
    await tx
      .update(subscriptions)
      .set({ status: "FAILED" })
      .where(eq(subscriptions.id, subscription.id));
  }
  await audit(tx, {
    actor,
    action: first ? "subscription.first_payment_declined" : "subscription.renewal_payment_declined",
    resourceType: "subscription",
    resourceId: subscription.id,
    metadata: { invoiceId: invoice.id, paymentId: payment.id, ...failure },
  });
  return [
    await enqueueEvent(tx, {
      type: "payment.failed",
      source: ctx.source,
      subject: payment.id,
      data: paymentEventData(failed!, invoice),
    }),
  ];
}
